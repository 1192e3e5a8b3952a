/** `--help` text. */
export const HELP = `usage: npm run build -- [command] [options] [TASK...]

Builds the given tasks (default: iso) and their dependencies, skipping those up to date.
TASK may be a name (images, iso), a subtask (group:sub, or group/sub) or a wildcard
(_build_packages:calico*:*). npm eats some options: put "--" before them.

commands:
  run [TASK...]            build (the default command)
  list [--all] [--private] list tasks (--all: subtasks too; --private: names starting with _)
  info TASK                show a task and why it would run
  clean [-n] [TASK...]     remove the targets of TASKs (default: iso and its dependencies);
                           -n/--dry-run only prints; never touches anything outside BUILD_ROOT
  forget [TASK...]         forget the stored state of TASKs (all tasks when none given)
  help                     this text

  verify [PATH.iso]        the verify task on an ISO file (default: the built one); same as
                           ISO_VERIFY_PATH=PATH.iso npm run build verify

options:
  -n, --workers N          run up to N tasks in parallel (default 1)
  -k, --keep-going         after a failure, keep running what does not depend on it
      --dry-run            print what would run and why, run nothing
  -a, --always-make        run the selected tasks even when up to date
      --reporter R         console (default) or json (one event per line on stdout)
      --json-log FILE      also write the JSON events to FILE
  -v, --verbose            stream the actions' output and say why tasks run
  -q, --quiet              only failures and the final line on failure
  -h, --help               this text

exit codes: 0 ok, 1 a task failed, 2 usage/config/graph error (nothing ran),
3 internal error, 130 interrupted. Settings: .env (see .env.example). Docs: docs/engine.md.
`;
