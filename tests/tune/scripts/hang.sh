#!/bin/sh
# A trainer that never finishes (objective.trainer of an isolated sweep under
# test): the trial's deadline must stop it.
exec sleep 60
