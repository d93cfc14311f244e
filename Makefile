# Local development stack without Docker: real RabbitMQ, a MongoDB-compatible server (mongod or
# FerretDB) and an SMTP catcher on 127.0.0.1, and the services as local processes.
# The scripts are in deploy/local; state, logs and received mail are kept in .stack/.

SHELL := /bin/bash
.DEFAULT_GOAL := help

LOCAL := deploy/local
# Options for pytest, for example: make test PYTEST_ARGS="-k invitation -x"
PYTEST_ARGS ?=
# Expanded when a recipe runs, so a uv that `make install` has just installed is found. pip may
# put it in a folder that is not on PATH; the uv package also runs as a Python module.
UV = $(shell command -v uv 2>/dev/null || echo python3 -m uv)

.PHONY: help install infra up down test logs demo

help: ## List the targets
	@echo "Targets:"
	@awk 'BEGIN { FS = ":.*## " } /^[a-z][a-z-]*:.*## / { printf "  make %-8s %s\n", $$1, $$2 }' $(MAKEFILE_LIST)

install: ## Install what is missing: uv, .venv, RabbitMQ, FerretDB (unless mongod is installed)
	@bash $(LOCAL)/install.sh

infra: install ## Start RabbitMQ, the database and the SMTP catcher on 127.0.0.1 (what tests need)
	@bash $(LOCAL)/infra-up.sh

up: infra ## Start the servers and all services, then print a fresh test API key
	@bash $(LOCAL)/services-up.sh
	@bash $(LOCAL)/provision.sh

down: ## Stop everything that make up or make infra started
	@bash $(LOCAL)/down.sh

test: infra ## Run pytest against the local servers; PYTEST_ARGS="..." adds options
	@$(LOCAL)/install.sh --with-chromium
	$(UV) run --frozen --all-packages pytest $(PYTEST_ARGS)

demo: up ## Run the whole journey against the local stack: invite, email, interview, webhook, result
	@.venv/bin/mga-demo $(DEMO_ARGS)

logs: ## Follow the service and SMTP catcher logs in .stack/logs (Ctrl-C stops)
	@bash $(LOCAL)/logs.sh
