# The bootstrap node: local yum repositories from the mounted ISO, the repositories server
# (packages and container registry) and containerd pulling through it.
include:
  - metalk8s.repo
  - metalk8s.container-engine.containerd
