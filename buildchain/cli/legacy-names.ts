/**
 * MetalK8s 2.4's task names (doit; see ../shared/reference/metalk8s-buildchain-2.4.md §1 and
 * §3; 2.4.4's `a/b` spellings are covered by the `/` separator) as aliases of this
 * buildchain's tasks, so that the names of 2.4's docs and habits keep working:
 * `./doit.sh _image_pull:calico-node`, `./doit.sh '_build_rpm_packages:calico*:*'`. A 2.4 name
 * with no equivalent (its mkdir tasks, builder containers, Debian packages, Go and Python
 * lint) is retired: it exits 2 saying why.
 */
import type { RetiredName, TaskAlias } from '../engine/graph.ts';

const NOTE = '(MetalK8s 2.4 name)';

type Add = (name: string, target: string) => void;

/** The aliases whose targets exist among `names` (the graph's task names). */
export function legacyAliases(names: readonly string[]): TaskAlias[] {
  // Every name and group prefix (`images`, `images:pull` of `images:pull:x`): one lookup each.
  const all = new Set<string>();
  for (const n of names) {
    let cut = n.length;
    while (cut > 0) {
      all.add(n.slice(0, cut));
      cut = n.lastIndexOf(':', cut - 1);
    }
  }
  const exists = (n: string): boolean => all.has(n);
  const out: TaskAlias[] = [];
  const add: Add = (name, target) => {
    if (exists(target)) out.push({ name, targets: [target], doc: `= ${target} ${NOTE}` });
  };
  for (const name of ['_iso_render_bootstrap', '_iso_render_restore', '_iso_add_utilities_scripts'])
    add(name, 'iso-root:scripts');
  for (const name of ['_iso_add_node_manifest', '_iso_mkdir_examples', '_iso_add_tree'])
    add(name, 'iso-root:files');
  add('_iso_generate_product_txt', 'iso-root:product');
  add('_image_pull', 'images:pull');
  add('_image_build', 'images:build');
  add('_image_dedup_layers', 'images:dedup');
  add('_download_rpm_packages', 'packaging:download');
  add('_vagrantkey', 'vagrant:_key');
  add('_vagrant_up_noprov', 'vagrant_snapshot');
  add('_vagrant_snapshot', 'vagrant_snapshot');
  saltTreeAliases(add);
  for (const n of names) {
    let m = /^images:(pull|build):([^:]+)$/.exec(n);
    if (m !== null) add(`_image_${m[1] ?? ''}:${m[2] ?? ''}`, n);
    m = /^packaging:srpm:([^:]+)$/.exec(n);
    if (m !== null) packageAliases(m[1] ?? '', add, exists);
    m = /^packaging:repo:.+-([a-z0-9]+)-el7$/.exec(n);
    if (m !== null) repoAliases(m[1] ?? '', n, add);
    m = /^packaging:rpm:([^:]+)$/.exec(n);
    if (m !== null) add(`_build_rpm_repositories:scality:build_rpm:${m[1] ?? ''}`, n);
  }
  return out;
}

/** `_deploy_salt_tree:{salt,pillar}:<step>` (2.4.4: `_deploy_salt_tree:salt/top.sls`). */
function saltTreeAliases(add: Add): void {
  add('_deploy_salt_tree', 'salt_tree');
  for (const root of ['salt', 'pillar']) {
    add(`_deploy_salt_tree:${root}`, 'salt_tree');
    add(`_deploy_salt_tree:${root}:make_tree`, 'salt:copy');
    add(`_deploy_salt_tree:${root}:copy_tree`, 'salt:copy');
    add(`_deploy_salt_tree:${root}:top.sls`, 'salt:render');
  }
  add('_deploy_salt_tree:salt:versions.json', 'salt:versions');
  for (const sls of ['storage-operator.sls', 'volume-crd.sls', 'configured.sls'])
    add(`_deploy_salt_tree:salt:${sls}`, 'salt:copy');
  add('_deploy_salt_tree:salt:pause', 'images:pull:pause');
  add('_deploy_salt_tree:salt:metalk8s-registry-common.inc', 'images:registry-config');
  add('_deploy_salt_tree:salt:metalk8s-registry.inc', 'images:registry-config');
}

/**
 * `_build_rpm_packages:<pkg>[:pkg_mkdir|pkg_rpmspec|pkg_get_source|pkg_srpm]`, 2.4.4's steps
 * without the `pkg_` prefix, and the `_build_packages:` spelling of the 2.4 docs.
 */
function packageAliases(pkg: string, add: Add, exists: (n: string) => boolean): void {
  const srpm = `packaging:srpm:${pkg}`;
  const source = exists(`packaging:source:${pkg}`) ? `packaging:source:${pkg}` : srpm;
  for (const base of ['_build_rpm_packages', '_build_packages']) {
    add(`${base}:${pkg}`, srpm);
    for (const step of ['mkdir', 'rpmspec', 'srpm']) {
      add(`${base}:${pkg}:pkg_${step}`, srpm);
      add(`${base}:${pkg}:${step}`, srpm);
    }
    add(`${base}:${pkg}:pkg_get_source`, source);
    add(`${base}:${pkg}:get_source`, source);
  }
}

/** `_build_rpm_repositories:<repo>[:build_repodata|mkdir_repo_root|mkdir_repo_arch]`. */
function repoAliases(repo: string, task: string, add: Add): void {
  add(`_build_rpm_repositories:${repo}`, task);
  for (const step of ['build_repodata', 'mkdir_repo_root', 'mkdir_repo_arch'])
    add(`_build_rpm_repositories:${repo}:${step}`, task);
}

const MKDIR =
  "2.4's directory tasks have no equivalent here: each task creates the directories it writes";
const NO_GO_PYTHON =
  'there is no Go or Python code in this buildchain: `./doit.sh list lint` shows its checks';

/** 2.4 names (fnmatch patterns) with no equivalent, and why. */
export const RETIRED_NAMES: readonly RetiredName[] = [
  { pattern: '_build_root', why: MKDIR },
  { pattern: '_iso_mkdir_root', why: MKDIR },
  { pattern: '_image_mkdir_root', why: MKDIR },
  { pattern: '_package_mkdir*', why: MKDIR },
  {
    pattern: 'check_for*',
    why: 'each task checks its tools before anything runs (tool-not-found names the *_BIN setting); `npm run setup` installs them',
  },
  {
    pattern: '_build_[rd][pe][mb]_container',
    why: 'there are no builder containers: rpmbuild and createrepo_c run on the host (`npm run setup` installs them)',
  },
  {
    pattern: '*deb_*',
    why: "Debian packages are not built: 2.4.0-beta1's Debian support was incomplete (no apt index)",
  },
  { pattern: 'lint:python', why: NO_GO_PYTHON },
  { pattern: 'lint:go', why: NO_GO_PYTHON },
  { pattern: 'codegen*', why: NO_GO_PYTHON },
  { pattern: 'format*', why: NO_GO_PYTHON },
];
