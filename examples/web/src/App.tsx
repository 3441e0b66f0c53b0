import { CombinedGraphQLErrors } from '@apollo/client';
import { useMutation, useQuery } from '@apollo/client/react';
import { useRef, useState } from 'react';
import type { FormEvent } from 'react';
import { AccountsDocument, SendMoneyDocument } from './gql/graphql';

/** What the last answers said, newest first. */
interface Answer {
  readonly transferId: string;
  readonly amount: string;
  readonly status: 'EXECUTED' | 'REPLAYED' | 'RECOVERED' | 'UNKNOWN';
}

/** "1050" (minor units) → "10.50". */
function money(amount: string): string {
  const negative = amount.startsWith('-');
  const digits = (negative ? amount.slice(1) : amount).padStart(3, '0');
  return `${negative ? '-' : ''}${digits.slice(0, -2)}.${digits.slice(-2)}`;
}

/** "10.50" → "1050"; null when it is not an amount with at most two decimals. */
function minorUnits(text: string): string | null {
  const match = /^(\d+)(?:\.(\d{1,2}))?$/.exec(text.trim());
  if (match === null) return null;
  const units = BigInt(match[1] ?? '0') * 100n + BigInt((match[2] ?? '').padEnd(2, '0'));
  return units > 0n ? units.toString() : null;
}

export function App({ retries }: { readonly retries: { count: number } }) {
  const accounts = useQuery(AccountsDocument);
  const [send] = useMutation(SendMoneyDocument);
  const [from, setFrom] = useState('');
  const [to, setTo] = useState('');
  const [amount, setAmount] = useState('2.50');
  const [pending, setPending] = useState(0);
  const [answers, setAnswers] = useState<Answer[]>([]);
  const [problem, setProblem] = useState<string | null>(null);
  // One key per intent: every click on Send until an answer arrives sends the same key, so a
  // double click, or a retry after a lost answer, moves the money once.
  const intentKey = useRef<string | null>(null);

  const list = accounts.data?.accounts.edges.map((edge) => edge.node) ?? [];
  const fromId = from || list[0]?.id || '';
  const toId = to || list[1]?.id || '';

  async function submit(event: FormEvent) {
    event.preventDefault();
    const units = minorUnits(amount);
    if (units === null) return setProblem('Enter an amount such as 2.50');
    const currency = list.find((account) => account.id === fromId)?.currency ?? 'EUR';
    intentKey.current ??= crypto.randomUUID();
    setPending((count) => count + 1);
    try {
      const result = await send({ variables: { input: { fromAccountId: fromId, toAccountId: toId, amount: units, currency } }, context: { idempotencyKey: intentKey.current } });
      const transfer = result.data?.createTransfer;
      if (transfer) {
        const marks = (result.extensions?.idempotency ?? []) as { status?: Answer['status'] }[];
        setAnswers((previous) => [{ transferId: transfer.id, amount: transfer.amount, status: marks[0]?.status ?? 'UNKNOWN' }, ...previous].slice(0, 5));
        setProblem(null);
      }
      intentKey.current = null; // a definitive answer: the next click is a new transfer
    } catch (error) {
      // A refusal (insufficient funds, …) is definitive too; a network failure keeps the key for the next click.
      if (CombinedGraphQLErrors.is(error)) intentKey.current = null;
      setProblem(CombinedGraphQLErrors.is(error) ? `${String(error.errors[0]?.extensions?.code)}: ${error.errors[0]?.message ?? ''}` : String(error));
    } finally {
      setPending((count) => count - 1);
    }
  }

  const changed = () => (intentKey.current = null);

  return (
    <main style={{ fontFamily: 'system-ui, sans-serif', maxWidth: 560, margin: '2rem auto', lineHeight: 1.5 }}>
      <h1 style={{ fontSize: '1.4rem' }}>Send money — exactly once</h1>
      {accounts.error ? <p role="alert">Cannot load the accounts: {accounts.error.message}</p> : null}
      <form onSubmit={submit} style={{ display: 'grid', gridTemplateColumns: '8rem 1fr', gap: '0.5rem', alignItems: 'center' }}>
        <label htmlFor="from">From</label>
        <select id="from" value={fromId} onChange={(event) => (changed(), setFrom(event.target.value))}>
          {list.map((account) => (
            <option key={account.id} value={account.id}>
              {account.name}
            </option>
          ))}
        </select>
        <label htmlFor="to">To</label>
        <select id="to" value={toId} onChange={(event) => (changed(), setTo(event.target.value))}>
          {list.map((account) => (
            <option key={account.id} value={account.id}>
              {account.name}
            </option>
          ))}
        </select>
        <label htmlFor="amount">Amount</label>
        <input id="amount" value={amount} onChange={(event) => (changed(), setAmount(event.target.value))} />
        <span />
        <button type="submit">Send</button>
      </form>
      <p aria-live="polite">{pending > 0 ? `Sending… (${retries.count} retries so far)` : '\u00a0'}</p>
      {problem ? <p role="alert">{problem}</p> : null}
      <h2 style={{ fontSize: '1.1rem' }}>Balances</h2>
      <table data-testid="balances">
        <tbody>
          {list.map((account) => (
            <tr key={account.id}>
              <td>{account.name}</td>
              <td style={{ textAlign: 'right', paddingLeft: '2rem' }} data-testid={`balance-${account.name}`}>
                {money(account.balance)} {account.currency}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <h2 style={{ fontSize: '1.1rem' }}>Answers</h2>
      <ul data-testid="answers">
        {answers.map((answer, i) => (
          <li key={i}>
            {money(answer.amount)} sent as transfer {answer.transferId}: {answer.status === 'REPLAYED' ? 'REPLAYED — the server had already run it; nothing moved twice' : answer.status}
          </li>
        ))}
      </ul>
    </main>
  );
}
