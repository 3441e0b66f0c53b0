// tsc compiles only TypeScript: copy the Lua scripts next to the compiled code that loads them
// (the packages read theirs from packages/<name>/lua, beside their own dist).
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
function copy(dir) {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const from = path.join(dir, entry.name);
    if (entry.isDirectory()) copy(from);
    else if (entry.name.endsWith('.lua')) {
      const to = path.join(root, 'dist', path.relative(root, from));
      fs.mkdirSync(path.dirname(to), { recursive: true });
      fs.copyFileSync(from, to);
    }
  }
}
copy(path.join(root, 'src'));
copy(path.join(root, 'examples', 'adopt'));
