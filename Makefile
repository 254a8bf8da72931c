# Ride duration prediction: data → export → gen → generated; feature → wire → model → handler →
# eventsource → lambda, cmd.
# `make help` lists the targets.

GO      ?= go
PYTHON  ?= /usr/bin/python3
# No built-in rules: their recipes would paste target names, which may hold a value, into shell text.
MAKEFLAGS += --no-builtin-rules
.SUFFIXES:

## ---- values a user sets ----
# A variable set on the command line or in the environment is text: make never expands it
# ("$(shell …)" in one is not a command) and passes it to the programs a recipe runs in their
# environment. A recipe names a value as "$$NAME", in double quotes, or a program reads it
# itself: no value is pasted into a recipe's shell text. The program that uses a value checks
# it (cmd/deploy for the deployment; cmd/fetchmodel, cmd/exportmodel, cmd/packmodel for RUN_ID).
# The Makefile's own constants that recipes paste (flags, package lists, DEPLOY) are set with
# `override`: a value of the same name from the user does not replace them.
$(foreach v,$(filter-out .% MAKE% MFLAGS,$(.VARIABLES)),$(if $(filter command line environment,$(origin $(v))),$(eval override $(v) := $$(value $(v)))$(eval export $(v))))
export GO PYTHON

.PHONY: help
help: ## list targets
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

.PHONY: predict
predict: ## the main job: predict testdata/rides.jsonl with the embedded model (no AWS)
	@"$$GO" run ./cmd/predict < testdata/rides.jsonl

## ---- model pipeline ----
# data → prep (Go reads parquet) → train (Python, sklearn) → export → generate (Go) → test.
# A fresh clone has the data (testdata/*.parquet) and the export; `make data` fetches other months.
export TLC_URL ?= https://d37ci6vzurychx.cloudfront.net/trip-data
export TRAIN ?= 2022-01
export VALID ?= 2022-02
export TRAIN_PQ = testdata/green_tripdata_$(TRAIN).parquet
export VALID_PQ = testdata/green_tripdata_$(VALID).parquet
EXPORT     = testdata/model.json.zst
GOLDEN     = testdata/golden_predictions.csv.zst

.PHONY: deps data prep train generate test bench

# Debian packages the tests need: sklearn 1.2.1 and xgboost 1.7 to retrain and to train a small
# model of each kind, yaml for the trainer of the kinds to write MLflow's MLmodel, pandas to read
# backfill's CSV back as a user does, debootstrap for
# the Debian 13 environment (make debian13), qemu-user-static
# to run the arm64 golden tests, AWS CLI v2 (/usr/bin/aws) for the end-to-end walkthrough, zip for
# make package, chromium for the report page's browser test, protoc for kpl's regenerate-and-compare
# test, shellcheck for actionlint (make lint-workflows) and scripts/local.sh, podman with runc and slirp4netns for the
# image tests (make image; curl and jq run the commands of the README and docs/deploy.md), graphviz for docs/architecture.svg
# (make diagram, and the test that it is current). Installed only when missing (needs root).
override DEB_PACKAGES = python3-sklearn python3-xgboost python3-yaml python3-pandas python3-venv qemu-user-static \
  awscli zip chromium protobuf-compiler shellcheck podman runc slirp4netns curl jq graphviz debootstrap
deps: ## install the Debian packages the tests need, if missing
	@dpkg -s $(DEB_PACKAGES) >/dev/null 2>&1 || { \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(DEB_PACKAGES); }

# The second library environment the tests train and export in: Debian 13 (trixie) from Debian's
# packages, as a chroot under build/debian13 (Python 3.13, scikit-learn 1.4.2, xgboost 3.0.0,
# numpy 2.2); build/debian13/bin/python3 runs its interpreter. Needs root; reused once built.
.PHONY: debian13
debian13: ## build the Debian 13 environment build/debian13 (root, debootstrap: about 4 minutes, 760 MB)
	sh scripts/debian13.sh build/debian13

data: $(TRAIN_PQ) $(VALID_PQ) ## download the TRAIN and VALID months' TLC green taxi data (needs internet; 2022-01/02 are committed)
testdata/green_tripdata_%.parquet: export PARQUET = $@
testdata/green_tripdata_%.parquet:
	curl -fsSL -o "$$PARQUET.tmp" -- "$$TLC_URL/$${PARQUET#testdata/}" && mv -- "$$PARQUET.tmp" "$$PARQUET"

prep: build/train.csv build/valid.csv ## write the training and validation tables (Go reads the parquet files)
build/train.csv: $(TRAIN_PQ) $(wildcard feature/*.go cmd/prep/*.go)
	@mkdir -p build
	"$$GO" run ./cmd/prep -o $@ -- "$$TRAIN_PQ"
build/valid.csv: $(VALID_PQ) $(wildcard feature/*.go cmd/prep/*.go)
	@mkdir -p build
	"$$GO" run ./cmd/prep -o $@ -- "$$VALID_PQ"

train: prep ## fit the forest (Debian python3-sklearn), print the RMSE, export it and the golden predictions
	@mkdir -p build/export/train
	"$$PYTHON" training/train.py --train build/train.csv --valid build/valid.csv --train-source "$$TRAIN_PQ" \
	  --export build/export/train/model.json --golden build/export/train/golden.csv --pickle build/model.pkl
	"$$GO" run ./cmd/packmodel -in build/export/train -export "$$EXPORT" -golden "$$GOLDEN"

generate: ## regenerate generated/ from the export, and the training month's statistics predict report compiles in (go generate)
	"$$GO" generate ./generated ./cmd/predict

# CI=true: a test whose outside tool is missing fails instead of skipping (testenv.Tool).
test: deps debian13 ## install what the tests need (the Debian packages, the Debian 13 environment), then run every test, and the golden tests on arm64 (what .ci/run runs)
	CI=true "$$GO" test -timeout 30m ./...
	$(MAKE) --no-print-directory test-arm64

# The golden tests built for arm64 (the SAM template's default architecture, where Go fuses
# x*y + z into one FMA unless the product is rounded explicitly) and run under qemu.
.PHONY: test-arm64
test-arm64: ## the generated model's golden tests on arm64, under qemu-aarch64-static
	@mkdir -p build/arm64
	CGO_ENABLED=0 GOARCH=arm64 "$$GO" test -c -o build/arm64/generated.test ./generated
	cd generated && qemu-aarch64-static ../build/arm64/generated.test -test.run 'Golden|TestRide|Keys|Thresholds'

bench: ## benchmark the generated model, with sklearn's time on the same rows when it is installed
	"$$GO" test ./generated -run '^$$' -bench . -benchmem -count 5
	@if "$$PYTHON" -c 'import sklearn' 2>/dev/null; then \
	  $(MAKE) --no-print-directory build/model.pkl >/dev/null && \
	  "$$PYTHON" training/bench_sklearn.py --model build/model.pkl --valid build/valid.csv; \
	else echo "(python3-sklearn not installed: no sklearn figures)"; fi
build/model.pkl: build/train.csv build/valid.csv
	@mkdir -p build/export/bench
	"$$PYTHON" training/train.py --train build/train.csv --valid build/valid.csv --train-source "$$TRAIN_PQ" \
	  --export build/export/bench/model.json --golden build/export/bench/golden.csv --pickle $@

## ---- function, local runtime ----
# The Lambda function (lambda/), its local runtime (moto_server as Kinesis, cmd/predict as the
# event-source mapping, aws-lambda-rie as the Lambda runtime) and its figures. No AWS account needed.
# -buildvcs=false: the binary depends on the sources only, not on the checkout's state (the
# release's provenance attestation records the commit).
override BOOTSTRAP_FLAGS = -tags lambda.norpc -trimpath -buildvcs=false -ldflags="-s -w"
export MOTO_PORT ?= 5000
export RIE_PORT  ?= 8080
override RIE_MODULE      = github.com/aws/aws-lambda-runtime-interface-emulator
override RIE_VERSION     = v0.0.0-20261030222936-bef5c4ba774d
# The local pipeline's AWS settings (make local, replay): moto on 127.0.0.1:MOTO_PORT.
local replay: export AWS_ENDPOINT_URL = http://127.0.0.1:$(MOTO_PORT)
local replay: export AWS_DEFAULT_REGION = us-east-1
local replay: export AWS_REGION = us-east-1
local replay: export AWS_ACCESS_KEY_ID = testing
local replay: export AWS_SECRET_ACCESS_KEY = testing
local replay: export AWS_EC2_METADATA_DISABLED = true

.PHONY: package local rie bench-handler test-function

package: dist/function-amd64.zip dist/function-arm64.zip ## build bootstrap and the deployment zip for amd64 and arm64 into dist/
dist/function-amd64.zip dist/function-arm64.zip: dist/function-%.zip: FORCE
	@mkdir -p dist/$*
	CGO_ENABLED=0 GOOS=linux GOARCH=$* "$$GO" build $(BOOTSTRAP_FLAGS) -o dist/$*/bootstrap ./lambda
	@# The same bytes on every build of the same sources: a fixed file time and mode (0755, whatever
	@# the umask: Lambda runs it as a user that neither owns it nor is in its group), no extra fields.
	chmod 0755 dist/$*/bootstrap
	TZ=UTC touch -t 198001010000.00 dist/$*/bootstrap
	rm -f $@ && cd dist/$* && TZ=UTC zip -q -X ../function-$*.zip bootstrap
	@ls -l dist/$*/bootstrap $@
.PHONY: FORCE
FORCE:

# scripts/local.sh checks the AWS CLI (AWS, the first v2 on PATH, as the walkthrough needs),
# moto_server and the port first, and says what is wrong and how to fix it.
local: ## the local pipeline: moto_server on 127.0.0.1:MOTO_PORT (5000), both streams, predict stream ride_events (Ctrl-C stops all)
	@bash scripts/local.sh

rie: ## run bootstrap under aws-lambda-rie on 127.0.0.1:RIE_PORT (8080), TEST_RUN=True (POST events to /2015-03-31/functions/function/invocations)
	@mkdir -p build/rie
	GOBIN=$(CURDIR)/build/rie GOFLAGS= "$$GO" install $(RIE_MODULE)/cmd/aws-lambda-rie@$(RIE_VERSION)
	CGO_ENABLED=0 "$$GO" build $(BOOTSTRAP_FLAGS) -o build/rie/bootstrap ./lambda
	TEST_RUN=True RUN_ID=Test123 AWS_DEFAULT_REGION=us-east-1 AWS_LAMBDA_FUNCTION_MEMORY_SIZE=128 \
	  build/rie/aws-lambda-rie --runtime-interface-emulator-address "127.0.0.1:$$RIE_PORT" build/rie/bootstrap

bench-handler: ## one 100-record event through the handler and through Invoke (TEST_RUN): tiny model, then the compiled one
	"$$GO" test ./handler -run '^$$' -bench 'BenchmarkHandler100|BenchmarkInvoke100' -benchmem -count 5
	"$$GO" test ./lambda ./kinesisevent -run '^$$' -bench . -benchmem -count 5

test-function: ## the function's tests: handler (moto), mapping, RIE, end to end with the AWS CLI
	"$$GO" test ./wire ./putrecords ./handler ./eventsource ./lambda ./cmd/... ./internal/testenv ./internal/faultproxy

## ---- container image ----
# The function as a container image, as the original ships it (walkthrough step 7). For each
# architecture, the host's Go cross-compiles the bootstrap and the Lambda Runtime Interface Emulator
# into build/image/<arch>/, and lambda/Dockerfile copies them onto an empty base: nothing is pulled.
# Run outside Lambda, the image serves the invoke API on port 8080, as AWS's base images do.
# CONTAINER is podman or docker (docker needs buildx's --provenance=false for a plain manifest).
export CONTAINER ?= podman
export IMAGE     ?= stream-model-duration:v1
override IMAGE_BUILD_FLAGS = $(if $(findstring docker,$(CONTAINER)),--provenance=false)

.PHONY: image

image: image-amd64 image-arm64 ## build the image IMAGE-amd64 and IMAGE-arm64, and tag IMAGE (stream-model-duration:v1) as this machine's
	"$$CONTAINER" tag "$$IMAGE-$$("$$GO" env GOARCH)" "$$IMAGE"
	@"$$CONTAINER" images --filter reference="$${IMAGE%%:*}"

image-amd64 image-arm64: image-%: FORCE
	@mkdir -p build/image/$*/var/runtime build/image/$*/usr/local/bin
	CGO_ENABLED=0 GOOS=linux GOARCH=$* "$$GO" build $(BOOTSTRAP_FLAGS) -o build/image/$*/var/runtime/bootstrap ./lambda
	@# The emulator is built in its own module, with its own go.sum.
	cd "$$(cd / && GOFLAGS= "$$GO" mod download -json $(RIE_MODULE)@$(RIE_VERSION) | sed -n 's/^\t"Dir": "\(.*\)",$$/\1/p')" && \
	  CGO_ENABLED=0 GOOS=linux GOARCH=$* GOFLAGS= "$$GO" build -trimpath -ldflags="-s -w" \
	    -o $(CURDIR)/build/image/$*/usr/local/bin/aws-lambda-rie ./cmd/aws-lambda-rie
	"$$CONTAINER" build --platform linux/$* $(IMAGE_BUILD_FLAGS) -f lambda/Dockerfile -t "$$IMAGE-$*" build/image

## ---- deployment ----
# The real AWS deployment; not run in CI. cmd/deploy runs each step through the AWS SDK, with
# credentials (the SDK's standard configuration), and CONTAINER for the image variant; cfn-lint
# for lint-deploy. Its values are make variables, on the command line or in the environment, e.g.
#   make deploy-zip ARCH=x86_64 STACK_NAME=ride-duration-dev AWS_REGION=eu-west-1
# docs/deploy.md lists them. cmd/deploy checks each one, given or derived (AWS_REGION from
# AWS_DEFAULT_REGION or the AWS configuration, AWS_ACCOUNT_ID from STS, IMAGE_TAG from git),
# before anything runs; `go run ./cmd/deploy -n <target>` prints what a target would call.
export CFN_LINT ?= cfn-lint
override DEPLOY    = "$$GO" build -o build/tools/deploy ./cmd/deploy && build/tools/deploy

.PHONY: lint-deploy deploy-release ecr-repo push deploy-image deploy-zip deploy-built sbom stack-outputs stack-delete

lint-deploy: ## cfn-lint the SAM template lambda/template.yaml and the release stack lambda/release.yaml
	"$$CFN_LINT" lambda/template.yaml lambda/release.yaml

deploy-release: ## (an administrator, once) GITHUB_REPOSITORY=<owner>/<repo>: the release stack: CD's roles, the CloudFormation role, the boundary, the code bucket
	@$(DEPLOY) deploy-release
ecr-repo: ## create the ECR repository ECR_REPO if it does not exist
	@$(DEPLOY) ecr-repo
push: ## build the image for ARCH (make image-<arch>) and push it to ECR as ECR_URI:IMAGE_TAG (the original's login, tag, push)
	@$(DEPLOY) push
deploy-image: ## push, then deploy the stack running the pushed image, pinned by digest
	@$(DEPLOY) deploy-image
deploy-zip: package ## build the zips, then deploy-built
	@$(DEPLOY) deploy-built
deploy-built: ## upload dist/function-<arch>.zip as it is (key = content hash) to ARTIFACT_BUCKET and deploy the zip variant; builds nothing
	@$(DEPLOY) deploy-built
sbom: package ## the SBOM (CycloneDX) of each zip's bootstrap, the standard library included: dist/function-<arch>.cdx.json
	@$(DEPLOY) sbom
stack-outputs: ## show the deployed stack's outputs (stream names, function, queue)
	@$(DEPLOY) stack-outputs
stack-delete: ## delete the stack (function, input and predictions streams, logs; not the dead-letter stream, the on-failure queue, the ECR repo or the release stack)
	@$(DEPLOY) stack-delete

## ---- quality & drift report ----
export REPORT_DIR ?= build/report

.PHONY: report report-screenshot
report: ## the model's quality on VALID and its drift from TRAIN: REPORT_DIR/index.html, metrics.json
	"$$GO" run ./cmd/predict report -o "$$REPORT_DIR" -train "$$TRAIN_PQ" -- "$$VALID_PQ"

report-screenshot: ## re-take docs/report.png, docs/batch.md's screenshot of the report page (headless Chromium)
	"$$GO" test ./cmd/predict -run '^TestReport$$' -count 1 -args -screenshot=$(CURDIR)/docs/report.png

## ---- release: an MLflow run → model → test → package → deploy ----
# make model RUN_ID=<run> fetches the run's MLflow model directory (MODEL_URI: the original's
# artifact layout in S3 by default; any s3:// prefix or local directory), and the DictVectorizer an
# XGBoost run keeps beside it (PREPROCESSOR_URI: artifacts/preprocessor/preprocessor.b, next to the
# model directory, by default; one the user names must exist), into MODEL_DIR (build/mlflow/<run>
# by default); exports it in the run's own Python environment (PYTHON, or
# ENV_MANAGER=virtualenv: docs/model.md), which checks it, scans its pickles before loading them and
# writes the export and the library's golden predictions over the VALID month as plain data
# (build/export/<run>); then, with the repository's own Go only, packs that data into testdata/,
# regenerates generated/ and runs the golden tests. It overwrites EXPORT, GOLDEN and generated/
# once the checks pass (git checkout -- testdata generated restores the committed model). The
# generated Version is the run id. Each failure names its step; the line above it, from the step's
# tool, says the cause. model-export and model-import are the two halves CD runs in separate jobs:
# only build/export/<run>'s two files cross from the first to the second. Each step's program checks
# RUN_ID (32 hex digits) and the paths it is given.
export MLFLOW_ARTIFACTS       ?= s3://mlflow-nyc-taxi-reg-exp/4
# MODEL_URI, PREPROCESSOR_URI and MODEL_DIR are the user's, if given (recipes see them in their
# environment): fetchmodel derives the first two's defaults from RUN_ID, and the recipes below
# MODEL_DIR's. Nothing derived from RUN_ID is a make variable, so no recipe (make test's go test,
# say) inherits values made for another run.
export EXPORT GOLDEN
ALLOW_SKLEARN_MISMATCH ?=
# local: PYTHON; virtualenv: a virtual environment under build/venv from the run's requirements.txt
# (pip: a package index, or PIP_NO_INDEX=1 with the packages installed and VENV_SYSTEM_SITE_PACKAGES=1).
export ENV_MANAGER            ?= local
VENV_SYSTEM_SITE_PACKAGES ?=
ACTIONLINT_MODULE       = github.com/rhysd/actionlint/cmd/actionlint@v1.7.12
# $(call model-step,N/5 NAME,what a failure leaves,command)
model-step = { $(3); } || { echo "make model: step $(1) failed (RUN_ID=$$RUN_ID): $(2)" >&2; exit 1; }
override MODEL_KEPT    = nothing was changed
override MODEL_CHANGED = testdata/, generated/ and cmd/predict/training_month.json hold the new model: git checkout -- testdata generated cmd/predict/training_month.json restores the committed one
# The fetched run and its export: shell text that reads RUN_ID and MODEL_DIR from the environment.
model-dir  = $${MODEL_DIR:-build/mlflow/$$RUN_ID}
export-dir = build/export/$$RUN_ID
# $(call need-run-id,TARGET): stop TARGET unless RUN_ID is set (its program checks its form).
need-run-id = $(if $(RUN_ID),,echo "make $(1): set RUN_ID=<MLflow run id> (32 hex digits)" >&2; exit 2)

.PHONY: model model-fetch model-export model-import model-pack model-generate model-test release deploy-verify lint-workflows

model: ## RUN_ID=<MLflow run> [MODEL_URI=s3://…|dir] [PREPROCESSOR_URI=…] [PYTHON=…|ENV_MANAGER=virtualenv]: fetch, export in the run's environment, pack, generate, golden tests
	@$(call need-run-id,model)
	@$(MAKE) --no-print-directory -j1 model-fetch model-export model-import
	@echo "make model: model of run $$RUN_ID exported, generated (Version $$RUN_ID) and golden-tested; next: make test package, or make release"

model-fetch:
	@echo "==> model 1/5 fetch: $${MODEL_URI:-$$MLFLOW_ARTIFACTS/$$RUN_ID/artifacts/model} → $(model-dir)"
	@$(call model-step,1/5 fetch,$(MODEL_KEPT),"$$GO" build -o build/tools/fetchmodel ./cmd/fetchmodel && \
	  build/tools/fetchmodel -run-id "$$RUN_ID" -artifacts "$$MLFLOW_ARTIFACTS" -out "$(model-dir)" \
	    -preprocessor "$$PREPROCESSOR_URI" -preprocessor-out "$(model-dir).preprocessor.b" -- "$$MODEL_URI")

model-export: build/valid.csv ## RUN_ID=<run> [PYTHON=…|ENV_MANAGER=virtualenv]: the fetched run's export and golden predictions, as data, into build/export/<run>
	@$(call need-run-id,model-export)
	@echo "==> model 2/5 export: in the run's environment, scan the pickles, check and export the model, the library's golden predictions over $$VALID → $(export-dir)"
	@$(call model-step,2/5 export,$(MODEL_KEPT),"$$GO" build -o build/tools/exportmodel ./cmd/exportmodel && \
	  build/tools/exportmodel -run-id "$$RUN_ID" -model "$(model-dir)" -preprocessor-if-exists "$(model-dir).preprocessor.b" \
	    -python "$$PYTHON" -env-manager "$$ENV_MANAGER" $(if $(VENV_SYSTEM_SITE_PACKAGES),-system-site-packages) \
	    $(if $(ALLOW_SKLEARN_MISMATCH),-allow-sklearn-mismatch) -valid build/valid.csv -out "$(export-dir)")

model-import: ## RUN_ID=<run>: build/export/<run>'s data into testdata/, generate, golden tests (Go only)
	@$(call need-run-id,model-import)
	@$(MAKE) --no-print-directory -j1 model-pack model-generate model-test

model-pack:
	@echo "==> model 3/5 pack: check $(export-dir)'s export and golden predictions, compress them into testdata/"
	@$(call model-step,3/5 pack,$(MODEL_KEPT),"$$GO" run ./cmd/packmodel -in "$(export-dir)" -run-id "$$RUN_ID" -export "$$EXPORT" -golden "$$GOLDEN")

model-generate:
	@echo "==> model 4/5 generate: go generate ./generated ./cmd/predict (the code; the training month's statistics for predict report)"
	@$(call model-step,4/5 generate,$(MODEL_CHANGED),"$$GO" generate ./generated ./cmd/predict)

model-test:
	@echo "==> model 5/5 test: golden tests, go test ./generated"
	@$(call model-step,5/5 test,the generated code does not reproduce the library's predictions: do not release it; $(MODEL_CHANGED),"$$GO" test -count=1 ./generated)

release: ## RUN_ID=<MLflow run>: make model, make test, then deploy-zip (package, upload, deploy) and deploy-verify
	@$(call need-run-id,release)
	$(MAKE) model
	$(MAKE) test
	$(MAKE) deploy-zip
	$(MAKE) deploy-verify

deploy-verify: ## check that the stack's function runs dist/function-<arch>.zip (Lambda's CodeSha256)
	@$(DEPLOY) deploy-verify

# staticcheck (honnef.co/go/tools), built from the module proxy at a pinned version, as actionlint is.
STATICCHECK_MODULE = honnef.co/go/tools/cmd/staticcheck@v0.8.2
.PHONY: staticcheck diagram
staticcheck: ## staticcheck ./... (pinned, installed into build/tools)
	@mkdir -p build/tools
	GOBIN=$(CURDIR)/build/tools GOFLAGS= "$$GO" install $(STATICCHECK_MODULE)
	build/tools/staticcheck ./...

diagram: ## redraw docs/architecture.svg from docs/architecture.dot (Debian's graphviz: make deps)
	dot -Tsvg -o docs/architecture.svg docs/architecture.dot

lint-workflows: ## actionlint the GitHub workflows, their run: scripts with shellcheck (make deps)
	@command -v shellcheck >/dev/null || { echo "shellcheck not found: make deps (apt-get install shellcheck)" >&2; exit 1; }
	@mkdir -p build/tools
	GOBIN=$(CURDIR)/build/tools GOFLAGS= "$$GO" install $(ACTIONLINT_MODULE)
	build/tools/actionlint .github/workflows/*.yml

## ---- batch jobs: backfill, replay ----
# predict backfill scores a month of TLC trips into parquet or CSV; predict replay puts them on a
# stream as ride events (here the local one of `make local`; docs/batch.md points it at AWS).
export BACKFILL_OUT ?= build/predictions_$(VALID).parquet
export REPLAY_LIMIT ?= 10000
export REPLAY_RATE  ?= 0

.PHONY: backfill replay bench-batch

backfill: ## score every valid trip of VALID into BACKFILL_OUT (.parquet or .csv)
	@mkdir -p -- "$$(dirname -- "$$BACKFILL_OUT")"
	"$$GO" run ./cmd/predict backfill -o "$$BACKFILL_OUT" -- "$$VALID_PQ"

replay: ## put REPLAY_LIMIT rides of VALID on the local ride_events at REPLAY_RATE/s (0: as fast as it takes them); make local first
	"$$GO" run ./cmd/predict replay -stream ride_events -limit "$$REPLAY_LIMIT" -rate "$$REPLAY_RATE" -- "$$VALID_PQ"

bench-batch: ## backfill of VALID as a whole process (hyperfine, built binary), and its parts (go test -bench)
	@mkdir -p build
	"$$GO" build -o build/predict ./cmd/predict
	@command -v hyperfine >/dev/null || { echo "hyperfine not found: apt-get install -y hyperfine" >&2; exit 1; }
	hyperfine -N --warmup 5 --runs 50 "build/predict backfill -o build/bench.parquet -- $$VALID_PQ" 'build/predict help'
	"$$GO" test ./tlc ./backfill ./cmd/predict -run '^$$' -bench 'BenchmarkRead$$|BenchmarkWriteParquet|BenchmarkJob|BenchmarkScore' -benchmem -count 5

## ---- start-up ----
# One ride through a fresh predict against the floor: a do-nothing binary that links the same
# packages (every non-project package predict depends on, blank-imported, so their inits run
# too). Both run under sh -c, which reads the ride from a file for predict: the same shell cost
# on both sides. GODEBUG=inittrace=1 shows the project's own init.
.PHONY: startup
startup: ## one ride through a fresh predict vs the floor (hyperfine), and predict's own init (inittrace)
	@mkdir -p build/floor
	"$$GO" build -o build/predict ./cmd/predict
	@{ echo '// Command floor links what predict links, and does nothing.'; echo 'package main'; echo 'import ('; \
	  "$$GO" list -deps ./cmd/predict | grep '\.' | grep -v -e '^github.com/rideduration/' -e '/internal/' -e '/internal$$' -e '^vendor/' \
	  | sed 's/.*/	_ "&"/'; echo ')'; echo 'func main() {}'; } > build/floor/main.go
	"$$GO" build -o build/floor/floor ./build/floor
	@echo '{"ride": {"PULocationID": 130, "DOLocationID": 205, "trip_distance": 3.66}, "ride_id": 123}' > build/ride.json
	GODEBUG=inittrace=1 build/predict < build/ride.json 2>&1 >/dev/null | grep rideduration
	hyperfine --warmup 20 --runs 300 -N --export-json build/startup.json 'sh -c "build/floor/floor < build/ride.json"' 'sh -c "build/predict < build/ride.json"'
	@python3 -c 'import json; r = json.load(open("build/startup.json"))["results"]; m = [x["median"] * 1000 for x in r]; print("medians: floor %.2f ms, predict %.2f ms: %.2fx" % (m[0], m[1], m[1] / m[0]))'

## ---- soak under faults ----
# February rides through `predict stream -batch-size 500` with a fault-injecting proxy between the
# function and moto (cmd/predict/soak_test.go): 30 % of PutRecords entries failed, 5 % of calls
# throttled, 3 % HTTP 500, 3 % of GetRecords HTTP 500, some calls delayed; then the predictions
# stream down for 10 s. CI runs the same tests with 2,000 rides.
export SOAK_RIDES ?= 10000
.PHONY: soak
soak: ## the full soak: SOAK_RIDES (10000) rides under faults, then a 10 s outage; prints lost, duplicates, rides/s
	@bash -o pipefail -c "\"\$$GO\" test ./cmd/predict -run '^(TestSoak|TestOutage)$$' -count=1 -v -timeout 30m 2>&1 \
	  | grep -E '^(--- |ok|FAIL|PASS)|soak_test.go'"
