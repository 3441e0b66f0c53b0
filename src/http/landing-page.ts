import { AsyncLocalStorage } from 'node:async_hooks';
import type { ApolloServerPlugin, BaseContext, GraphQLServerListener, LandingPage } from '@apollo/server';
import {
  ApolloServerPluginLandingPageLocalDefault,
  ApolloServerPluginLandingPageProductionDefault,
} from '@apollo/server/plugin/landingPage/default';

export interface SandboxLandingPageOptions {
  /** The production landing page (no Sandbox) instead of the local one. */
  readonly production: boolean;
  /**
   * The development api key, pre-filled in Sandbox's `api-key` header. Main passes it only with
   * the embedded development Redis; even then a page shows it only to a loopback browser.
   */
  readonly devApiKey?: string;
}

/** Apollo's landing page, and a switch that says, per request, whether it may carry the dev key. */
export interface SandboxLandingPage {
  readonly plugin: ApolloServerPlugin<BaseContext>;
  /** Runs `serve` (Apollo answering a request) with the dev key shown in the page or not. */
  withDevKey<T>(show: boolean, serve: () => Promise<T>): Promise<T>;
}

/**
 * Apollo renders its landing page once at start, not per request; the page with the key and the
 * one without are both rendered, and the request's own async context (set by the door) picks one.
 */
export function sandboxLandingPage(options: SandboxLandingPageOptions): SandboxLandingPage {
  const showKey = new AsyncLocalStorage<boolean>();
  const plain = options.production
    ? ApolloServerPluginLandingPageProductionDefault({ footer: false })
    : ApolloServerPluginLandingPageLocalDefault({ footer: false, embed: { initialState: { sharedHeaders: {} } } });
  const keyed =
    options.production || options.devApiKey === undefined
      ? undefined
      : ApolloServerPluginLandingPageLocalDefault({ footer: false, embed: { initialState: { sharedHeaders: { 'api-key': options.devApiKey } } } });

  const pageOf = async (plugin: ApolloServerPlugin<BaseContext>, context: Parameters<NonNullable<ApolloServerPlugin<BaseContext>['serverWillStart']>>[0]): Promise<LandingPage | null> => {
    const listener: GraphQLServerListener | void = await plugin.serverWillStart?.(context);
    return (await listener?.renderLandingPage?.()) ?? null;
  };
  const htmlOf = async (page: LandingPage): Promise<string> => (typeof page.html === 'string' ? page.html : page.html());

  const plugin: ApolloServerPlugin<BaseContext> = {
    async serverWillStart(context) {
      const plainPage = await pageOf(plain, context);
      const keyedPage = keyed === undefined ? null : await pageOf(keyed, context);
      if (plainPage === null) throw new Error('the landing page plugin rendered no page');
      return {
        async renderLandingPage() {
          return { html: () => htmlOf(keyedPage !== null && showKey.getStore() === true ? keyedPage : plainPage) };
        },
      };
    },
  };
  // Only a page that may show the key enters the AsyncLocalStorage: once one has been entered, node
  // runs its promise hooks on every promise of the process, a cost no API request should pay.
  return { plugin, withDevKey: (show, serve) => (show && keyed !== undefined ? showKey.run(show, serve) : serve()) };
}
