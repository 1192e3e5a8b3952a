/**
 * Files of the skeleton written by `init` (pure): a Solution that `build` turns into an ISO
 * offline with no edit. Its image is built FROM scratch with the host's static busybox.
 */

/** Inputs of the skeleton. */
export interface SkeletonOptions {
  /** Product (display) name: letters, digits, single dashes or spaces between words. */
  readonly name: string;
  readonly version: string;
  /** Default `>=2.4.0`. */
  readonly requireMetalK8s?: string;
  /** Where the static busybox of the build host lives; default `/bin/busybox`. */
  readonly busybox?: string;
}

function crd(lower: string): string {
  return `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: instances.${lower}.solutions.metalk8s.local
spec:
  group: ${lower}.solutions.metalk8s.local
  names:
    kind: Instance
    listKind: InstanceList
    plural: instances
    singular: instance
  scope: Namespaced
  versions:
    - name: v1alpha1
      served: true
      storage: true
      schema:
        openAPIV3Schema:
          type: object
          x-kubernetes-preserve-unknown-fields: true
`;
}

function deployment(name: string, app: string, image: string, sa: boolean): string {
  return `apiVersion: apps/v1
kind: Deployment
metadata:
  name: ${name}
  labels:
    app.kubernetes.io/name: ${name}
spec:
  replicas: 1
  selector:
    matchLabels:
      app.kubernetes.io/name: ${name}
  template:
    metadata:
      labels:
        app.kubernetes.io/name: ${name}
    spec:
${sa ? `      serviceAccountName: ${name}\n` : ''}      containers:
        - name: ${app}
          image: "${image}"
          command: ["/bin/busybox", "httpd", "-f", "-p", "8080", "-h", "/www"]
          ports:
            - containerPort: 8080
`;
}

function rbac(lower: string): Record<string, string> {
  const op = `${lower}-operator`;
  return {
    'operator/deploy/role.yaml': `apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata:
  name: ${op}
rules:
  - apiGroups: ["${lower}.solutions.metalk8s.local"]
    resources: ["instances", "instances/status"]
    verbs: ["get", "list", "watch", "create", "update", "patch", "delete"]
  - apiGroups: ["apps"]
    resources: ["deployments"]
    verbs: ["get", "list", "watch", "create", "update", "patch", "delete"]
`,
    'operator/deploy/role_binding.yaml': `apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata:
  name: ${op}
subjects:
  - kind: ServiceAccount
    name: ${op}
roleRef:
  kind: Role
  name: ${op}
  apiGroup: rbac.authorization.k8s.io
`,
    'operator/deploy/service_account.yaml': `apiVersion: v1
kind: ServiceAccount
metadata:
  name: ${op}
`,
  };
}

function service(name: string): string {
  return `apiVersion: v1
kind: Service
metadata:
  name: ${name}
  labels:
    app.kubernetes.io/name: ${name}
spec:
  selector:
    app.kubernetes.io/name: ${name}
  ports:
    - name: http
      port: 80
      targetPort: 8080
`;
}

/** A YAML scalar: plain when it is a plain path or word, else double-quoted (JSON is YAML). */
function yamlWord(value: string): string {
  return /^[A-Za-z0-9_/][A-Za-z0-9._/-]*$/.test(value) ? value : JSON.stringify(value);
}

/**
 * Relative path -> content of every file of the skeleton. `name` and `version` must have passed
 * `checkProduct` (letters, digits, single dashes or spaces; semver): they are written into YAML
 * and HTML. Object names use the env name's form (lowercase, spaces as dashes).
 */
export function skeletonFiles(o: SkeletonOptions): Record<string, string> {
  const lower = o.name.replaceAll(' ', '-').toLowerCase();
  const app = `${lower}-app`;
  const op = `${lower}-operator`;
  const busybox = o.busybox ?? '/bin/busybox';
  return {
    'solution.yaml': `# MetalK8s Solution: see docs/solution.md (metalk8s-solution lint / build / inspect / verify).
name: ${yamlWord(o.name)}
version: ${o.version}
# MetalK8s versions this Solution can be imported in (a semver range).
requireMetalK8s: ${JSON.stringify(o.requireMetalK8s ?? '>=2.4.0')}
# Also write the later manifest.yaml layout (MetalK8s >= 2.5 reads it).
manifestYaml: false
images:
  # Built locally with buildah, FROM scratch: no network needed.
  - name: ${app}
    version: ${o.version}
    build:
      context: images/${app}
      # Copied from this host into the build context (not committed), only with
      # build --allow-host-files: apt-get install busybox-static
      hostFiles:
        busybox: ${yamlWord(busybox)}
  # A remote image is pulled by pinned digest, e.g.:
  # - name: nginx
  #   version: 1.25.3
  #   source: docker.io/library/nginx
  #   digest: sha256:<64 hex>
`,
    'README.md': `# ${o.name} ${o.version}

A MetalK8s Solution created by \`metalk8s-solution init\`.

    npx metalk8s-solution lint .
    npx metalk8s-solution build . --allow-host-files   # -> _build/${lower}-${o.version}.iso + _build/SHA256SUM
    npx metalk8s-solution inspect _build/${lower}-${o.version}.iso
    npx metalk8s-solution verify _build/${lower}-${o.version}.iso

- \`images/${app}/\`: build context of the application image (FROM scratch + busybox).
- \`operator/deploy/\`: the Operator manifests (CRDs in \`crds/\`, one per file).
- \`ui/deployment.yaml\`, \`ui/service.yaml\`: the UI Deployment and its Service, both applied by
  MetalK8s 2.4 at import (\`@VERSION@\` and \`@REPOSITORY@\` are replaced at build).
`,
    '.gitignore': '_build/\n',
    [`images/${app}/Containerfile`]: `FROM scratch
COPY busybox /bin/busybox
COPY index.html /www/index.html
CMD ["/bin/busybox", "httpd", "-f", "-p", "8080", "-h", "/www"]
`,
    [`images/${app}/index.html`]: `<!doctype html><title>${o.name}</title><p>${o.name} ${o.version}</p>\n`,
    'operator/deploy/crds/instance_crd.yaml': crd(lower),
    'operator/deploy/operator.yaml': deployment(op, 'operator', `${app}:${o.version}`, true),
    ...rbac(lower),
    'ui/deployment.yaml': deployment(`${lower}-ui`, 'ui', `@REPOSITORY@/${app}:@VERSION@`, false),
    'ui/service.yaml': service(`${lower}-ui`),
  };
}
