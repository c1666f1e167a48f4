// Used only with BENCH_CPU_PROF=<dir>: runs dist/main.js and exits normally when the parent sends
// 'exit' over IPC, so `node --cpu-prof` writes its profile (Nest's signal hooks re-raise the signal,
// which would end the process before the profile is written).
process.on('message', (m) => {
  if (m === 'exit') process.exit(0);
});
await import('../dist/main.js');
