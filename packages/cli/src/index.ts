export { type CliEnvironment, runCli } from './program.js';
