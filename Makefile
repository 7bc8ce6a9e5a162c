# Order-to-cash suite: the commands a developer and CI use.
# `make run` and `make test` are the two the README promises.

SHELL := /bin/bash
.DEFAULT_GOAL := help

.PHONY: help run simulate stop status test lint fmt sqlx-prepare infra-up infra-down infra-status infra-reset token bench-orders bench-invoices bench-payments bench-credit bench-dunning bench-reporting bench-pipeline

help: ## List the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-14s %s\n", $$1, $$2}'

run: ## Start PostgreSQL, Kafka and the five services locally and show their health
	@scripts/run.sh

simulate: ## Drive another simulated business through the running suite: make simulate ARGS="--customers 1000"
	@SQLX_OFFLINE=true cargo run --quiet -p otc-simulator -- $(ARGS)

stop: ## Stop the services, then PostgreSQL and Kafka
	@scripts/services.sh down
	@scripts/infra/infra.sh down

status: ## Health of the infrastructure and of each service
	@scripts/infra/infra.sh status
	@scripts/services.sh status

test: ## Run every test against a real PostgreSQL and Kafka (started if needed)
	@scripts/test.sh

lint: ## cargo fmt --check, clippy -D warnings, sqlx offline data check
	cargo fmt --all --check
	SQLX_OFFLINE=true cargo clippy --workspace --all-targets -- -D warnings
	scripts/sqlx-prepare.sh --check

fmt: ## Format the code
	cargo fmt --all

sqlx-prepare: ## Regenerate the committed .sqlx query data after changing a query or migration
	@scripts/sqlx-prepare.sh

infra-up: ## Start PostgreSQL and Kafka (installs them if missing)
	@scripts/infra/infra.sh up

infra-down: ## Stop PostgreSQL and Kafka
	@scripts/infra/infra.sh down

infra-status: ## Is PostgreSQL / Kafka running?
	@scripts/infra/infra.sh status

infra-reset: ## Stop and delete all local data (keeps downloaded jars)
	@scripts/infra/infra.sh reset

token: ## Mint a local token: make token TENANT=acme ROLES="ar_clerk collector"
	@SQLX_OFFLINE=true cargo run --quiet -p otc-cli --bin otcctl -- token --tenant $${TENANT:-acme} --subject $${SUBJECT:-developer} $(foreach role,$(or $(ROLES),tenant_admin),--role $(role))

# Release builds of the benchmark and of the otc-order it starts: the test kit
# looks for service binaries in OTC_BIN_DIR. Queries are checked against the
# committed .sqlx data unless SQLX_OFFLINE=false and DATABASE_URL are given.
bench-pipeline: ## Whole-pipeline benchmark (figures only): make bench-pipeline ARGS="--orders 2000 --rate 500"
	@scripts/infra/infra.sh up
	@eval "$$(scripts/infra/infra.sh env)" && export SQLX_OFFLINE=$${SQLX_OFFLINE:-true} \
	  && cargo build --release -p otc-order -p otc-billing -p otc-payments -p otc-collections \
	       -p otc-reporting -p otc-simulator --bins \
	  && OTC_BIN_DIR="$${CARGO_TARGET_DIR:-$(CURDIR)/target}/release" \
	     cargo run --release -p otc-bench --bin pipeline -- $(ARGS)

bench-orders: ## Order ingestion benchmark (figures only): make bench-orders ARGS="--orders 5000"
	@scripts/infra/infra.sh up
	@eval "$$(scripts/infra/infra.sh env)" && export SQLX_OFFLINE=$${SQLX_OFFLINE:-true} \
	  && cargo build --release -p otc-order --bin otc-order \
	  && OTC_BIN_DIR="$${CARGO_TARGET_DIR:-$(CURDIR)/target}/release" \
	     cargo run --release -p otc-bench --bin order-ingestion -- $(ARGS)

# Release builds of the benchmark and of the otc-billing it starts. Billing's
# queries are checked against its committed .sqlx data when there is some,
# else against the dev database of services/billing/.env.
bench-invoices: ## Invoice issuing benchmark (figures only): make bench-invoices ARGS="--shipments 20000"
	@scripts/infra/infra.sh up
	@eval "$$(scripts/infra/infra.sh env)" \
	  && export SQLX_OFFLINE=true \
	  && cargo build --release -p otc-billing --bin otc-billing \
	  && OTC_BIN_DIR="$${CARGO_TARGET_DIR:-$(CURDIR)/target}/release" \
	     cargo run --release -p otc-bench --bin invoice-issuing -- $(ARGS)

# Release builds of the benchmark and of the otc-collections it starts.
bench-credit: ## CheckCredit benchmark (figures only): make bench-credit ARGS="--customers 2000 --calls 20000"
	@scripts/infra/infra.sh up
	@eval "$$(scripts/infra/infra.sh env)" \
	  && export SQLX_OFFLINE=true \
	  && cargo build --release -p otc-collections --bin otc-collections \
	  && OTC_BIN_DIR="$${CARGO_TARGET_DIR:-$(CURDIR)/target}/release" \
	     cargo run --release -p otc-bench --bin credit-check -- $(ARGS)

bench-dunning: ## Dunning run over 1,000,000 open items (figures only): make bench-dunning ARGS="--items 100000 --customers 10000"
	@scripts/infra/infra.sh up
	@eval "$$(scripts/infra/infra.sh env)" \
	  && export SQLX_OFFLINE=true \
	  && cargo run --release -p otc-bench --bin dunning-run -- $(ARGS)

# The engine part needs no service; the import part starts a release otc-payments.
bench-payments: ## Cash application benchmark (figures only): make bench-payments ARGS="--receipts 50000"
	@scripts/infra/infra.sh up
	@eval "$$(scripts/infra/infra.sh env)" \
	  && export SQLX_OFFLINE=true \
	  && cargo build --release -p otc-payments --bin otc-payments \
	  && OTC_BIN_DIR="$${CARGO_TARGET_DIR:-$(CURDIR)/target}/release" \
	     cargo run --release -p otc-bench --bin cash-matching -- $(ARGS)

# Release builds of the benchmark and of the otc-reporting it starts.
bench-reporting: ## Reporting catch-up and snapshot latency (figures only): make bench-reporting ARGS="--events 200000"
	@scripts/infra/infra.sh up
	@eval "$$(scripts/infra/infra.sh env)" \
	  && export SQLX_OFFLINE=true \
	  && cargo build --release -p otc-reporting --bin otc-reporting \
	  && OTC_BIN_DIR="$${CARGO_TARGET_DIR:-$(CURDIR)/target}/release" \
	     cargo run --release -p otc-bench --bin reporting-catchup -- $(ARGS)
