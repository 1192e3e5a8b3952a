/** `--help` text. Every task example in it works (test/cli/legacy-names.test.ts checks). */
export const HELP = `usage: ./doit.sh [command] [options] [TASK...]
       (or npm run build -- [command] [options] [TASK...]: npm eats options without "--")

Builds the given tasks (default: iso) and their dependencies, skipping those up to date.
TASK may be a name (images, iso), a subtask (images:pull:calico-node, or images/pull/calico-node),
a wildcard ('images:pull:calico*') or a MetalK8s 2.4 name (_image_pull:calico-node,
'_build_rpm_packages:calico*:*'; list --all shows them).

commands:
  run [TASK...]            build (the default command)
  list [PATTERN...]        list tasks: --all subtasks and 2.4 names too, -p/--private names
                           starting with _, --status R/U/I/E letters, --deps file deps, -q names only
  info TASK                show a task and why it would run
  clean [TASK...]          remove the targets of TASKs (of a group: of its parts); with no TASK,
                           of iso and all its dependencies; -c/--clean-dep: with their deps;
                           -a/--all: every task; -n/--dry-run: only print. Never outside BUILD_ROOT
  forget [TASK...]         forget the stored state (and ignore mark) of TASKs (all when none given)
  ignore TASK...           skip TASKs and what depends on them (!!) until forgotten
  tabcompletion [--shell bash|zsh]
                           print a completion script: source <(./doit.sh tabcompletion)
  strace TASK              run TASK again under strace and list the files it read (R) and
                           wrote (W), flagging those it does not declare; -a/--all: outside
                           the project and BUILD_ROOT too; --keep: keep the raw trace
  help                     this text

  verify [PATH.iso]        the verify task on an ISO file (default: the built one); same as
                           ISO_VERIFY_PATH=PATH.iso ./doit.sh verify

options:
  -n, --workers N          run up to N tasks in parallel (default 1); in clean: --dry-run
  -k, --keep-going         after a failure, keep running what does not depend on it
      --dry-run            print what would run and why, run nothing
  -a, --always-make        run the selected tasks even when up to date; in clean, strace: --all
      --reporter R         console (default) or json (one event per line on stdout)
      --json-log FILE      also write the JSON events to FILE
  -v, --verbose            stream the actions' output and say why tasks run
  -q, --quiet              only failures and the final line on failure
  -h, --help               this text

exit codes: 0 ok (also when the output pipe is closed, as by | head), 1 a task failed,
2 usage/config/graph error or the build lock is held (nothing ran), 3 internal error,
130 interrupted. Settings: .env (see .env.example). Docs: docs/engine.md.
`;
