export { runCli, type CliEnvironment } from './program.js';
