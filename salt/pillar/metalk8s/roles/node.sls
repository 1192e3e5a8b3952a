# Settings of every node: where the bootstrap node's repositories are reached.
metalk8s:
  repo_port: 8080
