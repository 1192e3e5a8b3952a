# Settings of the bootstrap node: it serves the ISO's packages and images.
repo:
  port: 8080
  host: 127.0.0.1
