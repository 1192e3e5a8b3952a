include:
  - .configured
  - .deployed
