{%- from "metalk8s/map.jinja" import iso_root, repo, version with context %}
# One yum repository per packages/redhat/<name>/ directory of the mounted ISO. Repositories
# shipping RPM-GPG-KEY-* files are gpg-checked with them; the others (local builds) are not.
{%- set repos = salt['file.find'](repo.packages_root, type='d', maxdepth=1, mindepth=1) | sort %}
{%- for path in repos %}
{%-   set name = path.split('/')[-1] %}
{%-   set keys = salt['file.find'](path, type='f', name='RPM-GPG-KEY-*', maxdepth=1) | sort %}
Configure yum repository {{ name }}:
  pkgrepo.managed:
    - name: {{ name }}
    - humanname: {{ name }} (MetalK8s {{ version }})
    - baseurl: file://{{ path }}
    - enabled: 1
{%-   if keys %}
    - gpgcheck: 1
    - gpgkey: {{ keys | map('regex_replace', '^', 'file://') | join(' ') }}
{%-   else %}
    - gpgcheck: 0
{%-   endif %}
{%- endfor %}
