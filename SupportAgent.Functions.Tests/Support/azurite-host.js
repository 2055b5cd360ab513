// Runs Azurite for the test run and exits when the test process goes away, however it ends:
// the test process holds this process's stdin, and a closed stdin means nobody is left to use the emulator.
// Usage: node azurite-host.js <path to azurite.js> [azurite options...]
process.stdin.on("end", () => process.exit(0));
process.stdin.on("error", () => process.exit(0));
process.stdin.resume();
process.argv.splice(1, 1); // argv now reads as `node azurite.js [options...]`, as Azurite's CLI expects
require(process.argv[1]);
