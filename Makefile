# Ride duration prediction: data → export → gen → generated; feature → wire → model → handler →
# eventsource → lambda, cmd.
# `make help` lists the targets.

GO      ?= go
PYTHON  ?= /usr/bin/python3

## ---- variables a user sets ----
# A variable set on the command line or in the environment is taken as written, never expanded
# by make ("$(shell …)" in it is text, not a command), and checked before any recipe's shell sees
# it: names, numbers, paths and URIs only (letters, digits and . _ - / : @ = + ,), one word
# (DEPLOY_PARAMS, RELEASE_PARAMS: lists). RUN_ID, as make model and the deployment use it (RUN), is an MLflow run
# id, 32 hex digits: on the command line it must be one; in the environment, where it may be the
# function's own RUN_ID (Test123), make leaves it to the programs it runs.
USER_VARS = RUN_ID MODEL_URI PREPROCESSOR_URI MODEL_DIR MLFLOW_ARTIFACTS ALLOW_SKLEARN_MISMATCH PYTHON ENV_MANAGER \
  VENV_SYSTEM_SITE_PACKAGES TRAIN VALID \
  TLC_URL STACK_NAME ARCH ECR_REPO ECR_REGISTRY IMAGE IMAGE_TAG ARTIFACT_BUCKET AWS_REGION AWS_ACCOUNT_ID \
  SHARD_COUNT BATCH_SIZE PARALLELIZATION_FACTOR STARTING_POSITION DEPLOY_PARAMS MOTO_PORT RIE_PORT \
  BACKFILL_OUT REPORT_DIR REPLAY_LIMIT REPLAY_RATE SOAK_RIDES CFN_ROLE_ARN RESERVED_CONCURRENCY RECORD_RETENTION_DAYS \
  PERMISSIONS_BOUNDARY_ARN RELEASE_STACK_NAME GITHUB_REPOSITORY GITHUB_OIDC_PROVIDER_ARN RELEASE_PARAMS
comma := ,
SAFE_CHARS = a b c d e f g h i j k l m n o p q r s t u v w x y z A B C D E F G H I J K L M N O P Q R S T U V \
  W X Y Z 0 1 2 3 4 5 6 7 8 9 . _ - / : @ = + $(comma)
HEX_DIGITS = 0 1 2 3 4 5 6 7 8 9 a b c d e f
# $(call strip-chars,TEXT,CHARS): TEXT without any of CHARS (a list of single characters)
strip-chars = $(if $(2),$(call strip-chars,$(subst $(firstword $(2)),,$(1)),$(wordlist 2,$(words $(2)),$(2))),$(1))
# $(call spread,TEXT,CHARS): TEXT with a space after each of CHARS ("ab" → "a b ")
spread = $(if $(2),$(call spread,$(subst $(firstword $(2)),$(firstword $(2)) ,$(1)),$(wordlist 2,$(words $(2)),$(2))),$(1))
is-run-id = $(and $(filter 1,$(words $(1))),$(if $(call strip-chars,$(1),$(HEX_DIGITS)),,yes),$(filter 32,$(words $(call spread,$(1),$(HEX_DIGITS)))))
USER_SET := $(filter-out $(if $(filter environment,$(origin RUN_ID)),RUN_ID),\
  $(foreach v,$(USER_VARS),$(if $(filter command line environment,$(origin $(v))),$(v))))
RUN_ID_FROM_COMMAND_LINE := $(filter command line,$(origin RUN_ID))
$(foreach v,$(USER_SET),$(eval override $(v) := $$(value $(v))))
$(foreach v,$(filter-out DEPLOY_PARAMS RELEASE_PARAMS,$(USER_SET)),$(if $(filter-out 0 1,$(words $($(v)))),\
  $(error $(v)="$($(v))": one word$(comma) no spaces)))
$(foreach v,$(USER_SET),$(if $(strip $(call strip-chars,$($(v)),$(SAFE_CHARS))),\
  $(error $(v)="$($(v))": use only letters$(comma) digits and . _ - / : @ = + $(comma) (a name$(comma) number$(comma) path or URI))))
ifneq ($(RUN_ID_FROM_COMMAND_LINE),)
ifneq ($(RUN_ID),)
ifeq ($(call is-run-id,$(RUN_ID)),)
$(error RUN_ID="$(RUN_ID)": want an MLflow run id$(comma) 32 hex digits (0-9$(comma) a-f))
endif
endif
endif
RUN := $(if $(call is-run-id,$(value RUN_ID)),$(value RUN_ID))

.PHONY: help
help: ## list targets
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

.PHONY: predict
predict: ## the main job: predict testdata/rides.jsonl with the embedded model (no AWS)
	@$(GO) run ./cmd/predict < testdata/rides.jsonl

## ---- model pipeline ----
# data → prep (Go reads parquet) → train (Python, sklearn) → export → generate (Go) → test.
# A fresh clone has the data (testdata/*.parquet) and the export; `make data` fetches other months.
TLC_URL   ?= https://d37ci6vzurychx.cloudfront.net/trip-data
TRAIN     ?= 2022-01
VALID     ?= 2022-02
TRAIN_PQ   = testdata/green_tripdata_$(TRAIN).parquet
VALID_PQ   = testdata/green_tripdata_$(VALID).parquet
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
DEB_PACKAGES = python3-sklearn python3-xgboost python3-yaml python3-pandas python3-venv qemu-user-static \
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
testdata/green_tripdata_%.parquet:
	curl -fsSL -o $@.tmp $(TLC_URL)/green_tripdata_$*.parquet && mv $@.tmp $@

prep: build/train.csv build/valid.csv ## write the training and validation tables (Go reads the parquet files)
build/train.csv: $(TRAIN_PQ) $(wildcard feature/*.go cmd/prep/*.go)
	@mkdir -p build
	$(GO) run ./cmd/prep -o $@ $(TRAIN_PQ)
build/valid.csv: $(VALID_PQ) $(wildcard feature/*.go cmd/prep/*.go)
	@mkdir -p build
	$(GO) run ./cmd/prep -o $@ $(VALID_PQ)

train: prep ## fit the forest (Debian python3-sklearn), print the RMSE, export it and the golden predictions
	@mkdir -p build/export/train
	$(PYTHON) training/train.py --train build/train.csv --valid build/valid.csv --train-source $(TRAIN_PQ) \
	  --export build/export/train/model.json --golden build/export/train/golden.csv --pickle build/model.pkl
	$(GO) run ./cmd/packmodel -in build/export/train -export $(EXPORT) -golden $(GOLDEN)

generate: ## regenerate generated/ from the export, and the training month's statistics predict report compiles in (go generate)
	$(GO) generate ./generated ./cmd/predict

# CI=true: a test whose outside tool is missing fails instead of skipping (testenv.Tool).
test: deps debian13 ## install what the tests need (the Debian packages, the Debian 13 environment), then run every test, and the golden tests on arm64 (what .ci/run runs)
	CI=true $(GO) test -timeout 30m ./...
	$(MAKE) --no-print-directory test-arm64

# The golden tests built for arm64 (the SAM template's default architecture, where Go fuses
# x*y + z into one FMA unless the product is rounded explicitly) and run under qemu.
.PHONY: test-arm64
test-arm64: ## the generated model's golden tests on arm64, under qemu-aarch64-static
	@mkdir -p build/arm64
	CGO_ENABLED=0 GOARCH=arm64 $(GO) test -c -o build/arm64/generated.test ./generated
	cd generated && qemu-aarch64-static ../build/arm64/generated.test -test.run 'Golden|TestRide|Keys|Thresholds'

bench: ## benchmark the generated model, with sklearn's time on the same rows when it is installed
	$(GO) test ./generated -run '^$$' -bench . -benchmem -count 5
	@if $(PYTHON) -c 'import sklearn' 2>/dev/null; then \
	  $(MAKE) --no-print-directory build/model.pkl >/dev/null && \
	  $(PYTHON) training/bench_sklearn.py --model build/model.pkl --valid build/valid.csv; \
	else echo "(python3-sklearn not installed: no sklearn figures)"; fi
build/model.pkl: build/train.csv build/valid.csv
	@mkdir -p build/export/bench
	$(PYTHON) training/train.py --train build/train.csv --valid build/valid.csv --train-source $(TRAIN_PQ) \
	  --export build/export/bench/model.json --golden build/export/bench/golden.csv --pickle $@

## ---- function, local runtime ----
# The Lambda function (lambda/), its local runtime (moto_server as Kinesis, cmd/predict as the
# event-source mapping, aws-lambda-rie as the Lambda runtime) and its figures. No AWS account needed.
# -buildvcs=false: the binary depends on the sources only, not on the checkout's state (the
# release's provenance attestation records the commit).
BOOTSTRAP_FLAGS = -tags lambda.norpc -trimpath -buildvcs=false -ldflags="-s -w"
MOTO_PORT      ?= 5000
RIE_PORT       ?= 8080
RIE_MODULE      = github.com/aws/aws-lambda-runtime-interface-emulator
RIE_VERSION     = v0.0.0-20261030222936-bef5c4ba774d
LOCAL_AWS_ENV   = AWS_ENDPOINT_URL=http://127.0.0.1:$(MOTO_PORT) AWS_DEFAULT_REGION=us-east-1 AWS_REGION=us-east-1 \
  AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_EC2_METADATA_DISABLED=true

.PHONY: package local rie bench-handler test-function

package: dist/function-amd64.zip dist/function-arm64.zip ## build bootstrap and the deployment zip for amd64 and arm64 into dist/
dist/function-%.zip: FORCE
	@mkdir -p dist/$*
	CGO_ENABLED=0 GOOS=linux GOARCH=$* $(GO) build $(BOOTSTRAP_FLAGS) -o dist/$*/bootstrap ./lambda
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
	@$(LOCAL_AWS_ENV) AWS='$(AWS)' GO='$(GO)' MOTO_PORT='$(MOTO_PORT)' bash scripts/local.sh

rie: ## run bootstrap under aws-lambda-rie on 127.0.0.1:RIE_PORT (8080), TEST_RUN=True (POST events to /2015-03-31/functions/function/invocations)
	@mkdir -p build/rie
	GOBIN=$(CURDIR)/build/rie GOFLAGS= $(GO) install $(RIE_MODULE)/cmd/aws-lambda-rie@$(RIE_VERSION)
	CGO_ENABLED=0 $(GO) build $(BOOTSTRAP_FLAGS) -o build/rie/bootstrap ./lambda
	TEST_RUN=True RUN_ID=Test123 AWS_DEFAULT_REGION=us-east-1 AWS_LAMBDA_FUNCTION_MEMORY_SIZE=128 \
	  build/rie/aws-lambda-rie --runtime-interface-emulator-address 127.0.0.1:$(RIE_PORT) build/rie/bootstrap

bench-handler: ## one 100-record event through the handler and through Invoke (TEST_RUN): tiny model, then the compiled one
	$(GO) test ./handler -run '^$$' -bench 'BenchmarkHandler100|BenchmarkInvoke100' -benchmem -count 5
	$(GO) test ./lambda ./kinesisevent -run '^$$' -bench . -benchmem -count 5

test-function: ## the function's tests: handler (moto), mapping, RIE, end to end with the AWS CLI
	$(GO) test ./wire ./putrecords ./handler ./eventsource ./lambda ./cmd/... ./internal/testenv ./internal/faultproxy

## ---- container image ----
# The function as a container image, as the original ships it (walkthrough step 7). For each
# architecture, the host's Go cross-compiles the bootstrap and the Lambda Runtime Interface Emulator
# into build/image/<arch>/, and lambda/Dockerfile copies them onto an empty base: nothing is pulled.
# Run outside Lambda, the image serves the invoke API on port 8080, as AWS's base images do.
# CONTAINER is podman or docker (docker needs buildx's --provenance=false for a plain manifest).
CONTAINER ?= podman
IMAGE     ?= stream-model-duration:v1
IMAGE_BUILD_FLAGS = $(if $(findstring docker,$(CONTAINER)),--provenance=false)

.PHONY: image

image: image-amd64 image-arm64 ## build the image IMAGE-amd64 and IMAGE-arm64, and tag IMAGE (stream-model-duration:v1) as this machine's
	$(CONTAINER) tag $(IMAGE)-$(shell $(GO) env GOARCH) $(IMAGE)
	@$(CONTAINER) images --filter reference='$(firstword $(subst :, ,$(IMAGE)))'

image-%: FORCE
	@mkdir -p build/image/$*/var/runtime build/image/$*/usr/local/bin
	CGO_ENABLED=0 GOOS=linux GOARCH=$* $(GO) build $(BOOTSTRAP_FLAGS) -o build/image/$*/var/runtime/bootstrap ./lambda
	@# The emulator is built in its own module, with its own go.sum.
	cd "$$(cd / && GOFLAGS= $(GO) mod download -json $(RIE_MODULE)@$(RIE_VERSION) | sed -n 's/^\t"Dir": "\(.*\)",$$/\1/p')" && \
	  CGO_ENABLED=0 GOOS=linux GOARCH=$* GOFLAGS= $(GO) build -trimpath -ldflags="-s -w" \
	    -o $(CURDIR)/build/image/$*/usr/local/bin/aws-lambda-rie ./cmd/aws-lambda-rie
	$(CONTAINER) build --platform linux/$* $(IMAGE_BUILD_FLAGS) -f lambda/Dockerfile -t $(IMAGE)-$* build/image

## ---- deployment ----
# The real AWS deployment; not run in CI. Needs the AWS CLI with credentials, CONTAINER
# (image variant) and cfn-lint (lint-deploy). Variables are overridden on the command line, e.g.
#   make deploy-zip ARCH=x86_64 STACK_NAME=ride-duration-dev AWS_REGION=eu-west-1
# AWS_REGION and AWS_ACCOUNT_ID default to the CLI's configuration and credentials, looked up
# once and only by the targets that use them.
AWS            ?= aws
CFN_LINT       ?= cfn-lint
AWS_REGION     ?= $(eval AWS_REGION := $(or $(AWS_DEFAULT_REGION),$(shell $(AWS) configure get region 2>/dev/null),$(error set AWS_REGION)))$(AWS_REGION)
AWS_ACCOUNT_ID ?= $(eval AWS_ACCOUNT_ID := $(or $(shell $(AWS) sts get-caller-identity --query Account --output text 2>/dev/null),$(error set AWS_ACCOUNT_ID (no AWS credentials?))))$(AWS_ACCOUNT_ID)
STACK_NAME     ?= ride-duration
ARCH           ?= arm64
ECR_REPO       ?= ride-duration
IMAGE_TAG      ?= $(eval IMAGE_TAG := $(shell git describe --always --dirty 2>/dev/null || echo dev))$(IMAGE_TAG)
# The release stack's code bucket (lambda/release.yaml names it so; make deploy-release).
ARTIFACT_BUCKET ?= $(STACK_NAME)-code-$(AWS_ACCOUNT_ID)-$(AWS_REGION)
SHA256SUM      ?= $(if $(shell command -v sha256sum 2>/dev/null),sha256sum,shasum -a 256)
# Stack parameters (lambda/template.yaml); DEPLOY_PARAMS takes more Key=Value overrides.
SHARD_COUNT            ?= 1
BATCH_SIZE             ?= 100
PARALLELIZATION_FACTOR ?= 1
STARTING_POSITION      ?= LATEST
# At least SHARD_COUNT x PARALLELIZATION_FACTOR; 0 reserves none (see the template).
RESERVED_CONCURRENCY   ?= 10
# How long the input stream keeps records and the on-failure queue its messages (1 or 7 days).
RECORD_RETENTION_DAYS  ?= 1
DEPLOY_PARAMS          ?=
# The CloudFormation service role deploys run as (--role-arn): the stack's resources are created
# with its permissions, not the caller's. The release stack's role creates the function's role
# only with the release stack's permissions boundary, which PERMISSIONS_BOUNDARY_ARN then names
# by default (lambda/release.yaml's FunctionBoundary, in CFN_ROLE_ARN's partition and account).
CFN_ROLE_ARN           ?=
PERMISSIONS_BOUNDARY_ARN ?= $(if $(CFN_ROLE_ARN),arn:$(word 2,$(subst :, ,$(CFN_ROLE_ARN))):iam::$(word 4,$(subst :, ,$(CFN_ROLE_ARN))):policy/$(STACK_NAME)-function-boundary)
# The release stack (lambda/release.yaml), deployed once by an administrator: the roles CD
# assumes (GITHUB_REPOSITORY's, through GitHub's OIDC provider: GITHUB_OIDC_PROVIDER_ARN if the
# account has one), the CloudFormation role, the permissions boundary, the code bucket.
# RELEASE_PARAMS takes more Key=Value overrides (the stream and queue names, if DEPLOY_PARAMS
# changes them).
RELEASE_STACK_NAME       ?= $(STACK_NAME)-release
GITHUB_REPOSITORY        ?=
GITHUB_OIDC_PROVIDER_ARN ?=
RELEASE_PARAMS           ?=

# The dashboard's reference lines: the median and 90th percentile of the compiled model's
# predictions over its training month, in seconds, from the statistics predict report compiles
# in (its prediction column's deciles; make model regenerates them).
TRAINING_PERCENTILES = $(shell $(PYTHON) -c 'import json, sys; c = [c for c in json.load(open(sys.argv[1]))["columns"] if c["column"] == "prediction"][0]["drift"]["edges"]; print("TrainingP50Seconds=%d TrainingP90Seconds=%d" % (round(c[4] * 60), round(c[8] * 60)))' cmd/predict/training_month.json)

# ARCH may be spelled the Lambda way (arm64, x86_64) or the Go way (amd64).
DEPLOY_GOARCH = $(if $(filter x86_64 amd64,$(ARCH)),amd64,$(if $(filter arm64 aarch64,$(ARCH)),arm64,$(error ARCH must be arm64 or x86_64, not $(ARCH))))
LAMBDA_ARCH   = $(if $(filter amd64,$(DEPLOY_GOARCH)),x86_64,arm64)
DEPLOY_ZIP    = dist/function-$(DEPLOY_GOARCH).zip
ECR_REGISTRY  = $(AWS_ACCOUNT_ID).dkr.ecr.$(AWS_REGION).amazonaws.com
ECR_URI       = $(ECR_REGISTRY)/$(ECR_REPO)
# RunId is set on every deploy: RUN_ID's run id, or empty (the function then reports the compiled
# model's own version). cloudformation deploy keeps a parameter it is not given at its previous
# value, which would label a new model's events with the run id of an earlier deploy.
# CloudFormationRoleArn (CFN_ROLE_ARN, or empty: the role the alarm topic's key policy lets manage
# the key) and PermissionsBoundary (PERMISSIONS_BOUNDARY_ARN, or empty) are set on every deploy for
# the same reason.
STACK_PARAMS  = Architecture=$(LAMBDA_ARCH) ShardCount=$(SHARD_COUNT) BatchSize=$(BATCH_SIZE) \
  ParallelizationFactor=$(PARALLELIZATION_FACTOR) StartingPosition=$(STARTING_POSITION) \
  ReservedConcurrency=$(RESERVED_CONCURRENCY) RecordRetentionDays=$(RECORD_RETENTION_DAYS) $(TRAINING_PERCENTILES) PermissionsBoundary=$(PERMISSIONS_BOUNDARY_ARN) \
  RunId=$(RUN) CloudFormationRoleArn=$(CFN_ROLE_ARN) $(DEPLOY_PARAMS)
# CAPABILITY_NAMED_IAM: the function's role is named (the CloudFormation role may create that one only).
CFN_DEPLOY    = $(AWS) cloudformation deploy --region $(AWS_REGION) --stack-name $(STACK_NAME) \
  --template-file lambda/template.yaml --capabilities CAPABILITY_NAMED_IAM CAPABILITY_AUTO_EXPAND \
  --no-fail-on-empty-changeset $(if $(CFN_ROLE_ARN),--role-arn $(CFN_ROLE_ARN))

.PHONY: lint-deploy deploy-release ecr-repo push deploy-image deploy-zip deploy-built sbom stack-outputs stack-delete

lint-deploy: ## cfn-lint the SAM template lambda/template.yaml and the release stack lambda/release.yaml
	$(CFN_LINT) lambda/template.yaml lambda/release.yaml

# MLFLOW_ARTIFACTS (s3://BUCKET/PREFIX) is what the model role may read.
MLFLOW_BUCKET = $(firstword $(subst /, ,$(patsubst s3://%,%,$(MLFLOW_ARTIFACTS))))
MLFLOW_PREFIX = $(patsubst $(MLFLOW_BUCKET)/%,%,$(patsubst s3://%,%,$(MLFLOW_ARTIFACTS)))

deploy-release: ## (an administrator, once) GITHUB_REPOSITORY=<owner>/<repo>: the release stack: CD's roles, the CloudFormation role, the boundary, the code bucket
	@$(if $(GITHUB_REPOSITORY),,echo "make deploy-release: set GITHUB_REPOSITORY=<owner>/<repo>, the repository whose CD assumes the roles" >&2; exit 2)
	@$(if $(filter s3://$(MLFLOW_BUCKET)/$(MLFLOW_PREFIX),$(MLFLOW_ARTIFACTS)),,echo "make deploy-release: MLFLOW_ARTIFACTS=$(MLFLOW_ARTIFACTS): want s3://<bucket>/<prefix>, the experiment the model role may read" >&2; exit 2)
	$(AWS) cloudformation deploy --region $(AWS_REGION) --stack-name $(RELEASE_STACK_NAME) \
	  --template-file lambda/release.yaml --capabilities CAPABILITY_NAMED_IAM --no-fail-on-empty-changeset \
	  --parameter-overrides GitHubRepository=$(GITHUB_REPOSITORY) FunctionStackName=$(STACK_NAME) \
	    MlflowArtifactBucket=$(MLFLOW_BUCKET) MlflowArtifactPrefix=$(patsubst %/,%,$(MLFLOW_PREFIX)) \
	    $(if $(GITHUB_OIDC_PROVIDER_ARN),GitHubOIDCProviderArn=$(GITHUB_OIDC_PROVIDER_ARN)) $(RELEASE_PARAMS)
	$(AWS) cloudformation describe-stacks --region $(AWS_REGION) --stack-name $(RELEASE_STACK_NAME) \
	  --query 'Stacks[0].Outputs' --output table

ecr-repo: ## create the ECR repository ECR_REPO if it does not exist
	$(AWS) ecr describe-repositories --region $(AWS_REGION) --repository-names $(ECR_REPO) >/dev/null 2>&1 || \
	  $(AWS) ecr create-repository --region $(AWS_REGION) --repository-name $(ECR_REPO) \
	    --image-scanning-configuration scanOnPush=true

push: ecr-repo image-$(DEPLOY_GOARCH) ## push the image for ARCH to ECR as ECR_URI:IMAGE_TAG (the original's login, tag, push)
	$(AWS) ecr get-login-password --region $(AWS_REGION) | $(CONTAINER) login --username AWS --password-stdin $(ECR_REGISTRY)
	$(CONTAINER) tag $(IMAGE)-$(DEPLOY_GOARCH) $(ECR_URI):$(IMAGE_TAG)
	$(CONTAINER) push $(ECR_URI):$(IMAGE_TAG)

deploy-image: push ## deploy the stack running the pushed image, pinned by digest
	@digest=$$($(AWS) ecr describe-images --region $(AWS_REGION) --repository-name $(ECR_REPO) \
	    --image-ids imageTag=$(IMAGE_TAG) --query 'imageDetails[0].imageDigest' --output text) && set -x && \
	$(CFN_DEPLOY) --parameter-overrides PackageType=Image ImageUri=$(ECR_URI)@$$digest $(STACK_PARAMS)

deploy-zip: package ## build the zips, then deploy-built
	@$(MAKE) --no-print-directory deploy-built

# The bucket is the release stack's, in this account: --expected-bucket-owner refuses to upload
# to a bucket of the same name that another account owns.
deploy-built: ## upload dist/function-<arch>.zip as it is (key = content hash) to ARTIFACT_BUCKET and deploy the zip variant; builds nothing
	@test -f $(DEPLOY_ZIP) || { echo "make deploy-built: $(DEPLOY_ZIP) not found (make package builds it)" >&2; exit 2; }
	@key=$(STACK_NAME)/function-$(LAMBDA_ARCH)-$$($(SHA256SUM) $(DEPLOY_ZIP) | cut -c1-16).zip && set -x && \
	$(AWS) s3api put-object --region $(AWS_REGION) --bucket $(ARTIFACT_BUCKET) --key $$key --body $(DEPLOY_ZIP) \
	  --expected-bucket-owner $(AWS_ACCOUNT_ID) --query VersionId --output text && \
	$(CFN_DEPLOY) --parameter-overrides PackageType=Zip CodeBucket=$(ARTIFACT_BUCKET) CodeKey=$$key $(STACK_PARAMS)

# The software bill of materials of each zip's bootstrap: the modules linked into it, as Go
# recorded them in the binary (CycloneDX JSON).
SBOM_TOOL = github.com/CycloneDX/cyclonedx-gomod/cmd/cyclonedx-gomod@v1.10.0
sbom: package ## the SBOM (CycloneDX) of each zip's bootstrap: dist/function-<arch>.cdx.json
	@mkdir -p build/tools
	GOBIN=$(CURDIR)/build/tools GOFLAGS= $(GO) install $(SBOM_TOOL)
	for arch in amd64 arm64; do \
	  build/tools/cyclonedx-gomod bin -json -version $(IMAGE_TAG) -output dist/function-$$arch.cdx.json dist/$$arch/bootstrap || exit 1; \
	done

stack-outputs: ## show the deployed stack's outputs (stream names, function, queue)
	$(AWS) cloudformation describe-stacks --region $(AWS_REGION) --stack-name $(STACK_NAME) \
	  --query 'Stacks[0].Outputs' --output table

stack-delete: ## delete the stack (function, input and predictions streams, logs; not the dead-letter stream, the on-failure queue, the ECR repo or the release stack)
	$(AWS) cloudformation delete-stack --region $(AWS_REGION) --stack-name $(STACK_NAME)
	$(AWS) cloudformation wait stack-delete-complete --region $(AWS_REGION) --stack-name $(STACK_NAME)

## ---- quality & drift report ----
REPORT_DIR ?= build/report

.PHONY: report report-screenshot
report: ## the model's quality on VALID and its drift from TRAIN: REPORT_DIR/index.html, metrics.json
	$(GO) run ./cmd/predict report -o $(REPORT_DIR) -train $(TRAIN_PQ) $(VALID_PQ)

report-screenshot: ## re-take docs/report.png, docs/batch.md's screenshot of the report page (headless Chromium)
	$(GO) test ./cmd/predict -run '^TestReport$$' -count 1 -args -screenshot=$(CURDIR)/docs/report.png

## ---- release: an MLflow run → model → test → package → deploy ----
# make model RUN_ID=<run> fetches the run's MLflow model directory (MODEL_URI: the original's
# artifact layout in S3 by default; any s3:// prefix or local directory), and the DictVectorizer an
# XGBoost run keeps beside it (PREPROCESSOR_URI: artifacts/preprocessor/preprocessor.b, next to the
# model directory, by default); exports it in the run's own Python environment (PYTHON, or
# ENV_MANAGER=virtualenv: docs/model.md), which checks it, scans its pickles before loading them and
# writes the export and the library's golden predictions over the VALID month as plain data
# (EXPORT_DIR); then, with the repository's own Go only, packs that data into testdata/,
# regenerates generated/ and runs the golden tests. It overwrites EXPORT, GOLDEN and generated/
# once the checks pass (git checkout -- testdata generated restores the committed model). The
# generated Version is the run id. Each failure names its step; the line above it, from the step's
# tool, says the cause. model-export and model-import are the two halves CD runs in separate jobs:
# only EXPORT_DIR's two files cross from the first to the second.
MLFLOW_ARTIFACTS       ?= s3://mlflow-nyc-taxi-reg-exp/4
MODEL_URI              ?= $(MLFLOW_ARTIFACTS)/$(RUN)/artifacts/model
MODEL_DIR              ?= build/mlflow/$(RUN)
PREPROCESSOR_URI       ?= $(dir $(patsubst %/,%,$(MODEL_URI)))preprocessor/preprocessor.b
PREPROCESSOR           = $(MODEL_DIR).preprocessor.b
EXPORT_DIR             = build/export/$(RUN)
ALLOW_SKLEARN_MISMATCH ?=
# local: PYTHON; virtualenv: a virtual environment under build/venv from the run's requirements.txt
# (pip: a package index, or PIP_NO_INDEX=1 with the packages installed and VENV_SYSTEM_SITE_PACKAGES=1).
ENV_MANAGER            ?= local
VENV_SYSTEM_SITE_PACKAGES ?=
ACTIONLINT_MODULE       = github.com/rhysd/actionlint/cmd/actionlint@v1.7.12
# $(call model-step,N/5 NAME,what a failure leaves,command)
model-step = { $(3); } || { echo "make model: step $(1) failed (RUN_ID=$(RUN)): $(2)" >&2; exit 1; }
MODEL_KEPT    = nothing was changed
MODEL_CHANGED = testdata/, generated/ and cmd/predict/training_month.json hold the new model: git checkout -- testdata generated cmd/predict/training_month.json restores the committed one

.PHONY: model model-fetch model-export model-import model-pack model-generate model-test release deploy-verify lint-workflows

model: ## RUN_ID=<MLflow run> [MODEL_URI=s3://…|dir] [PREPROCESSOR_URI=…] [PYTHON=…|ENV_MANAGER=virtualenv]: fetch, export in the run's environment, pack, generate, golden tests
	@$(if $(RUN),,echo "make model: set RUN_ID=<MLflow run id> (32 hex digits)" >&2; exit 2)
	@$(MAKE) --no-print-directory -j1 model-fetch model-export model-import
	@echo "make model: model of run $(RUN) exported, generated (Version $(RUN)) and golden-tested; next: make test package, or make release"

model-fetch:
	@echo "==> model 1/5 fetch: $(MODEL_URI) → $(MODEL_DIR)"
	@$(call model-step,1/5 fetch,$(MODEL_KEPT),$(GO) build -o build/tools/fetchmodel ./cmd/fetchmodel && \
	  build/tools/fetchmodel -run-id '$(RUN)' -out '$(MODEL_DIR)' \
	    -preprocessor '$(PREPROCESSOR_URI)' -preprocessor-out '$(PREPROCESSOR)' \
	    $(if $(filter PREPROCESSOR_URI,$(USER_SET)),-preprocessor-required) '$(MODEL_URI)')

model-export: build/valid.csv ## RUN_ID=<run> [PYTHON=…|ENV_MANAGER=virtualenv]: the fetched run's export and golden predictions, as data, into build/export/<run>
	@$(if $(RUN),,echo "make model-export: set RUN_ID=<MLflow run id> (32 hex digits)" >&2; exit 2)
	@echo "==> model 2/5 export: in the run's environment, scan the pickles, check and export the model, the library's golden predictions over $(VALID) → $(EXPORT_DIR)"
	@$(call model-step,2/5 export,$(MODEL_KEPT),$(GO) build -o build/tools/exportmodel ./cmd/exportmodel && \
	  build/tools/exportmodel -run-id '$(RUN)' -model '$(MODEL_DIR)' \
	    $$(test -f '$(PREPROCESSOR)' && echo -preprocessor '$(PREPROCESSOR)') \
	    -python '$(PYTHON)' -env-manager '$(ENV_MANAGER)' $(if $(VENV_SYSTEM_SITE_PACKAGES),-system-site-packages) \
	    $(if $(ALLOW_SKLEARN_MISMATCH),-allow-sklearn-mismatch) -valid build/valid.csv -out '$(EXPORT_DIR)')

model-import: ## RUN_ID=<run>: build/export/<run>'s data into testdata/, generate, golden tests (Go only)
	@$(if $(RUN),,echo "make model-import: set RUN_ID=<MLflow run id> (32 hex digits)" >&2; exit 2)
	@$(MAKE) --no-print-directory -j1 model-pack model-generate model-test

model-pack:
	@echo "==> model 3/5 pack: check $(EXPORT_DIR)'s export and golden predictions, compress them into testdata/"
	@$(call model-step,3/5 pack,$(MODEL_KEPT),$(GO) run ./cmd/packmodel -in '$(EXPORT_DIR)' -run-id '$(RUN)' -export $(EXPORT) -golden $(GOLDEN))

model-generate:
	@echo "==> model 4/5 generate: go generate ./generated ./cmd/predict (the code; the training month's statistics for predict report)"
	@$(call model-step,4/5 generate,$(MODEL_CHANGED),$(GO) generate ./generated ./cmd/predict)

model-test:
	@echo "==> model 5/5 test: golden tests, go test ./generated"
	@$(call model-step,5/5 test,the generated code does not reproduce the library's predictions: do not release it; $(MODEL_CHANGED),$(GO) test -count=1 ./generated)

release: ## RUN_ID=<MLflow run>: make model, make test, then deploy-zip (package, upload, deploy) and deploy-verify
	@$(if $(RUN),,echo "make release: set RUN_ID=<MLflow run id> (32 hex digits)" >&2; exit 2)
	$(MAKE) model
	$(MAKE) test
	$(MAKE) deploy-zip
	$(MAKE) deploy-verify

deploy-verify: ## check that the stack's function runs dist/function-<arch>.zip (Lambda's CodeSha256)
	@fn=$$($(AWS) cloudformation describe-stacks --region $(AWS_REGION) --stack-name $(STACK_NAME) \
	    --query "Stacks[0].Outputs[?OutputKey=='FunctionName'].OutputValue" --output text) && \
	deployed=$$($(AWS) lambda get-function-configuration --region $(AWS_REGION) --function-name "$$fn" --query CodeSha256 --output text) && \
	built=$$($(PYTHON) -c 'import base64, hashlib, sys; print(base64.b64encode(hashlib.sha256(open(sys.argv[1], "rb").read()).digest()).decode())' $(DEPLOY_ZIP)) && \
	if [ "$$deployed" = "$$built" ]; then echo "$$fn runs $(DEPLOY_ZIP) (CodeSha256 $$built)"; \
	else echo "$$fn runs CodeSha256 $$deployed, not $(DEPLOY_ZIP)'s $$built" >&2; exit 1; fi

# staticcheck (honnef.co/go/tools), built from the module proxy at a pinned version, as actionlint is.
STATICCHECK_MODULE = honnef.co/go/tools/cmd/staticcheck@v0.8.2
.PHONY: staticcheck diagram
staticcheck: ## staticcheck ./... (pinned, installed into build/tools)
	@mkdir -p build/tools
	GOBIN=$(CURDIR)/build/tools GOFLAGS= $(GO) install $(STATICCHECK_MODULE)
	build/tools/staticcheck ./...

diagram: ## redraw docs/architecture.svg from docs/architecture.dot (Debian's graphviz: make deps)
	dot -Tsvg -o docs/architecture.svg docs/architecture.dot

lint-workflows: ## actionlint the GitHub workflows, their run: scripts with shellcheck (make deps)
	@command -v shellcheck >/dev/null || { echo "shellcheck not found: make deps (apt-get install shellcheck)" >&2; exit 1; }
	@mkdir -p build/tools
	GOBIN=$(CURDIR)/build/tools GOFLAGS= $(GO) install $(ACTIONLINT_MODULE)
	build/tools/actionlint .github/workflows/*.yml

## ---- batch jobs: backfill, replay ----
# predict backfill scores a month of TLC trips into parquet or CSV; predict replay puts them on a
# stream as ride events (here the local one of `make local`; docs/batch.md points it at AWS).
BACKFILL_OUT ?= build/predictions_$(VALID).parquet
REPLAY_LIMIT ?= 10000
REPLAY_RATE  ?= 0

.PHONY: backfill replay bench-batch

backfill: ## score every valid trip of VALID into BACKFILL_OUT (.parquet or .csv)
	@mkdir -p $(dir $(BACKFILL_OUT))
	$(GO) run ./cmd/predict backfill -o $(BACKFILL_OUT) $(VALID_PQ)

replay: ## put REPLAY_LIMIT rides of VALID on the local ride_events at REPLAY_RATE/s (0: as fast as it takes them); make local first
	$(LOCAL_AWS_ENV) $(GO) run ./cmd/predict replay -stream ride_events -limit $(REPLAY_LIMIT) -rate $(REPLAY_RATE) $(VALID_PQ)

bench-batch: ## backfill of VALID as a whole process (hyperfine, built binary), and its parts (go test -bench)
	@mkdir -p build
	$(GO) build -o build/predict ./cmd/predict
	@command -v hyperfine >/dev/null || { echo "hyperfine not found: apt-get install -y hyperfine" >&2; exit 1; }
	hyperfine -N --warmup 5 --runs 50 'build/predict backfill -o build/bench.parquet $(VALID_PQ)' 'build/predict help'
	$(GO) test ./tlc ./backfill ./cmd/predict -run '^$$' -bench 'BenchmarkRead$$|BenchmarkWriteParquet|BenchmarkJob|BenchmarkScore' -benchmem -count 5

## ---- start-up ----
# One ride through a fresh predict against the floor: a do-nothing binary that links the same
# packages (every non-project package predict depends on, blank-imported, so their inits run
# too). Both run under sh -c, which reads the ride from a file for predict: the same shell cost
# on both sides. GODEBUG=inittrace=1 shows the project's own init.
.PHONY: startup
startup: ## one ride through a fresh predict vs the floor (hyperfine), and predict's own init (inittrace)
	@mkdir -p build/floor
	$(GO) build -o build/predict ./cmd/predict
	@{ echo '// Command floor links what predict links, and does nothing.'; echo 'package main'; echo 'import ('; \
	  $(GO) list -deps ./cmd/predict | grep '\.' | grep -v -e '^github.com/rideduration/' -e '/internal/' -e '/internal$$' -e '^vendor/' \
	  | sed 's/.*/	_ "&"/'; echo ')'; echo 'func main() {}'; } > build/floor/main.go
	$(GO) build -o build/floor/floor ./build/floor
	@echo '{"ride": {"PULocationID": 130, "DOLocationID": 205, "trip_distance": 3.66}, "ride_id": 123}' > build/ride.json
	GODEBUG=inittrace=1 build/predict < build/ride.json 2>&1 >/dev/null | grep rideduration
	hyperfine --warmup 20 --runs 300 -N --export-json build/startup.json 'sh -c "build/floor/floor < build/ride.json"' 'sh -c "build/predict < build/ride.json"'
	@python3 -c 'import json; r = json.load(open("build/startup.json"))["results"]; m = [x["median"] * 1000 for x in r]; print("medians: floor %.2f ms, predict %.2f ms: %.2fx" % (m[0], m[1], m[1] / m[0]))'

## ---- soak under faults ----
# February rides through `predict stream -batch-size 500` with a fault-injecting proxy between the
# function and moto (cmd/predict/soak_test.go): 30 % of PutRecords entries failed, 5 % of calls
# throttled, 3 % HTTP 500, 3 % of GetRecords HTTP 500, some calls delayed; then the predictions
# stream down for 10 s. CI runs the same tests with 2,000 rides.
SOAK_RIDES ?= 10000
.PHONY: soak
soak: ## the full soak: SOAK_RIDES (10000) rides under faults, then a 10 s outage; prints lost, duplicates, rides/s
	@bash -o pipefail -c "SOAK_RIDES=$(SOAK_RIDES) $(GO) test ./cmd/predict -run '^(TestSoak|TestOutage)$$' -count=1 -v -timeout 30m 2>&1 \
	  | grep -E '^(--- |ok|FAIL|PASS)|soak_test.go'"
