// Runs one MicroPython script on the real interpreter (WebAssembly port) with the firmware in
// /lib, the hw/ emulators as the `hw.emu` package and the test fakes (machine, bluetooth, …).
// Usage: node run.mjs SCRIPT.py   — one interpreter per process (they share global state).
import { readFileSync, readdirSync, existsSync } from "node:fs";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { loadMicroPython } from "@micropython/micropython-webassembly-pyscript/micropython.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "..", "..");
const mp = await loadMicroPython({
  heapsize: 8 * 1024 * 1024,
  stdout: (line) => process.stdout.write(line + "\n"),
  stderr: (line) => process.stderr.write(line + "\n"),
});

function copyDir(src, dst) {
  mp.FS.mkdirTree(dst);
  for (const name of readdirSync(src)) {
    if (name.endsWith(".py")) mp.FS.writeFile(join(dst, name), readFileSync(join(src, name)));
  }
}
copyDir(join(root, "edge", "lib"), "/lib");
copyDir(join(here, "lib"), "/lib");
mp.FS.mkdirTree("/lib/hw");
mp.FS.writeFile("/lib/hw/__init__.py", "");
copyDir(join(root, "hw", "emu"), "/lib/hw/emu");
mp.FS.mkdirTree("/flash");
// The boot entry goes where a script can exec it (on a device it is /main.py, run at boot).
mp.FS.writeFile("/edge_main.py", readFileSync(join(root, "edge", "main.py")));

const script = process.argv[2];
if (!script || !existsSync(script)) {
  console.error("usage: node run.mjs SCRIPT.py");
  process.exit(2);
}
try {
  mp.runPython(readFileSync(script, "utf8"));
} catch (e) {
  if (e.name === "PythonError") {
    console.error(e.message);
    process.exit(1);
  }
  throw e;
}
