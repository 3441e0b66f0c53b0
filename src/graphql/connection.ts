import { ArgsType, Field, Int, ObjectType } from 'type-graphql';
import type { ClassType } from 'type-graphql';

export const DEFAULT_PAGE_SIZE = 20;

@ObjectType({ simpleResolvers: true })
export class PageInfo {
  @Field()
  hasNextPage!: boolean;

  @Field(() => String, { nullable: true })
  endCursor!: string | null;
}

export interface Edge<T> {
  cursor: string;
  node: T;
}

export interface ConnectionShape<T> {
  edges: Edge<T>[];
  pageInfo: PageInfo;
}

/** Builds the Relay `XConnection` and `XEdge` types for a node type. */
export function connectionType<T extends object>(name: string, Node: ClassType<T>): ClassType<ConnectionShape<T>> {
  @ObjectType(`${name}Edge`, { simpleResolvers: true })
  class EdgeType {
    @Field()
    cursor!: string;

    @Field(() => Node)
    node!: T;
  }

  @ObjectType(`${name}Connection`, { simpleResolvers: true })
  class ConnectionType {
    @Field(() => [EdgeType])
    edges!: EdgeType[];

    @Field(() => PageInfo)
    pageInfo!: PageInfo;
  }
  return ConnectionType;
}

/** Turns a page of ids and their loaded nodes into a connection. */
export function toConnection<T>(items: readonly { cursor: string; node: string }[], nodes: readonly T[], hasNextPage: boolean): ConnectionShape<T> {
  const edges = items.map((item, i) => ({ cursor: item.cursor, node: nodes[i] as T }));
  return { edges, pageInfo: { hasNextPage, endCursor: edges.at(-1)?.cursor ?? null } };
}

@ArgsType()
export class PageArgs {
  @Field(() => Int, { nullable: true, defaultValue: DEFAULT_PAGE_SIZE, description: 'Page size, 1 to 100.' })
  first!: number | null;

  @Field(() => String, { nullable: true, description: 'Return items after this cursor.' })
  after!: string | null;
}
