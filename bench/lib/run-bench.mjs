/**
 * Runs a bench's `main`, then its `cleanup` whatever happens (also on Ctrl-C), so a
 * failed or interrupted run leaves no schema, server or temp dir behind. A failure
 * sets a non-zero exit code.
 */
export async function runBench(main, cleanup) {
  process.once('SIGINT', () => {
    cleanup().finally(() => process.exit(130));
  });
  try {
    await main();
  } catch (error) {
    console.error(error);
    process.exitCode = 1;
  } finally {
    await cleanup();
  }
}
