/** Entry point of `npm run build`: runs the build CLI ({@link main}) and sets the exit code. */
import { main } from './main.ts';

process.exitCode = await main(process.argv.slice(2));
