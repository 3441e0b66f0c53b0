import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Metrics } from '../../src/observability/metrics';

// The dashboard and the alert rules in ops/ name metrics the server really exports: a renamed
// metric fails here instead of leaving an alert that can never fire.
const OPS = path.resolve(__dirname, '../../ops');

function metricNames(expressions: readonly string[]): Set<string> {
  const names = new Set<string>();
  for (const expression of expressions) {
    for (const [name] of expression.matchAll(/\b(?:onceql|nodejs|process)_[a-z0-9_]+/g)) names.add(name.replace(/_(bucket|count|sum)$/, ''));
  }
  return names;
}

describe('ops/', () => {
  const exported = new Set<string>();

  beforeAll(async () => {
    const metrics = new Metrics();
    for (const [, name] of (await metrics.scrape()).body.matchAll(/^# TYPE (\S+) /gm)) exported.add(name as string);
  });

  it('alert rules: each has a name, an expression over exported metrics, a duration and a severity', () => {
    const text = readFileSync(path.join(OPS, 'prometheus/onceql-alerts.yml'), 'utf8');
    const rules = text.split(/\n\s+- alert: /).slice(1);
    expect(rules.length).toBeGreaterThanOrEqual(8);
    const expressions: string[] = [];
    for (const rule of rules) {
      expect(rule).toMatch(/\n\s+expr: /);
      expect(rule).toMatch(/\n\s+for: \d+m/);
      expect(rule).toMatch(/severity: (page|warn)/);
      expressions.push(rule.slice(rule.indexOf('expr:'), rule.indexOf('for:')));
    }
    const used = metricNames(expressions);
    for (const wanted of ['onceql_requests_total', 'onceql_limiter_decisions_total', 'onceql_idempotency_outcomes_total', 'onceql_redis_script_duration_seconds', 'onceql_event_loop_lag_seconds']) {
      expect(used).toContain(wanted);
    }
    for (const name of used) expect(exported).toContain(name);
  });

  it('dashboard: valid JSON whose panels query exported metrics', () => {
    const dashboard = JSON.parse(readFileSync(path.join(OPS, 'grafana/onceql-dashboard.json'), 'utf8')) as { panels: { title: string; targets: { expr: string }[] }[] };
    expect(dashboard.panels.length).toBeGreaterThanOrEqual(10);
    const used = metricNames(dashboard.panels.flatMap((panel) => panel.targets.map((target) => target.expr)));
    expect(used.size).toBeGreaterThanOrEqual(10);
    for (const name of used) expect(exported).toContain(name);
  });
});
