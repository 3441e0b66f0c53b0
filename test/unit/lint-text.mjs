// Lints code at paths that need not exist, with the project's eslint.config.mjs, through ESLint's
// Node API: reads [{ file, code }] as JSON on stdin, writes [[{ ruleId, message }]] on stdout.
// A separate process because jest's module sandbox cannot import() the ESM config file.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ESLint } from 'eslint';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
let input = '';
for await (const chunk of process.stdin) input += chunk;
const eslint = new ESLint({ cwd: root });
const results = [];
for (const { file, code } of JSON.parse(input)) {
  const [result] = await eslint.lintText(code, { filePath: path.join(root, file) });
  results.push(result.messages.map(({ ruleId, message }) => ({ ruleId, message })));
}
process.stdout.write(JSON.stringify(results));
