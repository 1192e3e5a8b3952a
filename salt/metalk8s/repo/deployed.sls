{%- from "metalk8s/map.jinja" import archives, repo, solutions, versions with context %}
# The "repositories" static pod: ONE nginx server for every platform version and Solution
# (yum repositories and read-only container registry), laid out as MetalK8s 2.4 does. The pod
# mounts {{ repo.conf_dir }} at /etc/nginx/conf.d: the server (repositories.conf, read by the
# image's `include conf.d/*.conf`) includes conf.d/*.inc, which are:
#   90-registry-config.inc           image roots of every platform archive
#   99-<env>-registry.inc            the registry of each platform version (from its archive)
#   99-registry-common.inc           constants and named locations shared by all of them
#   <solution env>-registry-config.inc  each Solution's registry, rendered from its archive
# Values are written as JSON strings (valid YAML), after map.jinja checked them.
Install repositories server:
  file.managed:
    - name: {{ (repo.conf_dir ~ '/repositories.conf') | tojson }}
    - source: salt://metalk8s/repo/files/repositories.conf.j2
    - template: jinja
    - makedirs: true
    - context:
        address: {{ repo.host | string | tojson }}
        port: {{ repo.port | int }}
        archives: {{ archives | tojson }}

Install registry image roots:
  file.managed:
    - name: {{ (repo.conf_dir ~ '/90-registry-config.inc') | tojson }}
    - source: salt://metalk8s/repo/files/metalk8s-registry-config.inc.j2
    - template: jinja
    - makedirs: true
    - context:
        archives: {{ archives | tojson }}
{%- for env, archive in archives | dictsort %}

{{ ('Install registry of ' ~ env) | tojson }}:
  file.managed:
    - name: {{ (repo.conf_dir ~ '/99-' ~ env ~ '-registry.inc') | tojson }}
    - source: {{ (archive.path ~ '/salt/metalk8s/repo/files/metalk8s-registry.inc') | tojson }}
    - makedirs: true
{%- endfor %}

Install registry constants:
  file.managed:
    - name: {{ (repo.conf_dir ~ '/99-registry-common.inc') | tojson }}
    - source: salt://metalk8s/repo/files/metalk8s-registry-common.inc
    - makedirs: true
{%- for env, solution in solutions | dictsort %}

{{ ('Install registry of Solution ' ~ env) | tojson }}:
  file.managed:
    - name: {{ (repo.conf_dir ~ '/' ~ env ~ '-registry-config.inc') | tojson }}
    - source: {{ (solution.path ~ '/registry-config.inc.j2') | tojson }}
    - template: jinja
    - makedirs: true
    - context:
        repository: {{ env | tojson }}
        registry_root: {{ (solution.path ~ '/images') | tojson }}
{%- endfor %}

Install repositories static pod:
  file.managed:
    - name: /etc/kubernetes/manifests/repositories.yaml
    - source: salt://metalk8s/repo/files/repositories-manifest.yaml.j2
    - template: jinja
    - makedirs: true
    - context:
        conf_dir: {{ repo.conf_dir | tojson }}
        nginx_version: {{ versions.images.get('nginx', {}).get('version', 'latest') | string | tojson }}
    - require:
      - file: Install repositories server
      - file: Install registry image roots
      - file: Install registry constants
