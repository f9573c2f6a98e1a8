"""The lab around the services: locust suite, local cluster launcher, matrix runner, report and bench."""
