{%- from "metalk8s/map.jinja" import repo, version with context %}
# containerd pulls MetalK8s images through the repositories server of the bootstrap node.
Configure containerd registry mirror:
  file.managed:
    - name: /etc/containerd/config.toml
    - source: salt://metalk8s/container-engine/containerd/files/config.toml.j2
    - template: jinja
    - makedirs: true
    - context:
        registry: {{ repo.host }}:{{ repo.port }}
        version: {{ version }}
