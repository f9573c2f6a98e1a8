"""A cell's record: the locust run's counts and the scenario's theory turned into what results.json keeps."""
