"""Training and qualifications: the curriculum, people's records, and who may fill which role."""
