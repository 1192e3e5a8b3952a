include:
  - .configured
