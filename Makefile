# Ride duration prediction: data → export → gen → generated ← feature ← lambda ← cmd.
# `make help` lists the targets.

GO      ?= go
PYTHON  ?= /usr/bin/python3

.PHONY: help
help: ## list targets
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

## ---- model pipeline (issue 2) ----

## ---- function, local runtime (issue 3) ----

## ---- deployment (issue 3) ----
