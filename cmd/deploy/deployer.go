package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	cfntypes "github.com/aws/aws-sdk-go-v2/service/cloudformation/types"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	ecrtypes "github.com/aws/aws-sdk-go-v2/service/ecr/types"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

// deployer holds the values of one run, each checked once, when first used.
type deployer struct {
	env            func(string) string
	stdout, stderr io.Writer
	dryRun         bool

	template, releaseTemplate, trainingMonth string

	cfg      *aws.Config
	account  string
	imageTag string
}

// value is the variable name's value, or def when it is unset or empty.
func (d *deployer) value(name, def string) string {
	if v := d.env(name); v != "" {
		return v
	}
	return def
}

// checked is the variable name's value (or def), which must have form.
func (d *deployer) checked(name, def string, form interface{ MatchString(string) bool }, want string) (string, error) {
	v := d.value(name, def)
	if !form.MatchString(v) {
		return "", refuse(valueError(name, "", v, want))
	}
	return v, nil
}

func (d *deployer) stackName() (string, error) {
	return d.checked("STACK_NAME", "ride-duration", stackForm, "a stack name: a letter, then letters, digits and -, at most 128")
}

// arch is ARCH as Go (amd64, arm64) and Lambda (x86_64, arm64) spell it.
func (d *deployer) arch() (goarch, lambdaArch string, err error) {
	switch a := d.value("ARCH", "arm64"); a {
	case "arm64", "aarch64":
		return "arm64", "arm64", nil
	case "x86_64", "amd64":
		return "amd64", "x86_64", nil
	default:
		return "", "", refuse(valueError("ARCH", "", a, "arm64 or x86_64"))
	}
}

// awsConfig is the SDK's configuration in the checked region: AWS_REGION,
// else AWS_DEFAULT_REGION, else the AWS configuration's (aws configure get
// region).
func (d *deployer) awsConfig(ctx context.Context) (aws.Config, error) {
	if d.cfg != nil {
		return *d.cfg, nil
	}
	name, region, from := "AWS_REGION", d.env("AWS_REGION"), ""
	if region == "" {
		region, from = d.env("AWS_DEFAULT_REGION"), "from AWS_DEFAULT_REGION"
	}
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return aws.Config{}, err
	}
	if region == "" {
		region, from = cfg.Region, "from the AWS configuration (aws configure get region)"
	}
	if region == "" {
		return aws.Config{}, refuse(errors.New("set AWS_REGION (e.g. eu-west-1), or aws configure set region"))
	}
	if !regionForm.MatchString(region) {
		return aws.Config{}, refuse(valueError(name, from, region, "an AWS region (e.g. eu-west-1)"))
	}
	cfg.Region = region
	d.cfg = &cfg
	return cfg, nil
}

// accountID is AWS_ACCOUNT_ID, else the caller's account (STS).
func (d *deployer) accountID(ctx context.Context) (string, error) {
	if d.account != "" {
		return d.account, nil
	}
	id, from := d.env("AWS_ACCOUNT_ID"), ""
	if id == "" {
		cfg, err := d.awsConfig(ctx)
		if err != nil {
			return "", err
		}
		out, err := sts.NewFromConfig(cfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
		if err != nil {
			return "", fmt.Errorf("AWS_ACCOUNT_ID: sts get-caller-identity: %v (no AWS credentials? set AWS_ACCOUNT_ID)", err)
		}
		id, from = aws.ToString(out.Account), "from STS GetCallerIdentity"
		if d.dryRun {
			d.show("sts:GetCallerIdentity")
		}
	}
	if !accountForm.MatchString(id) {
		return "", refuse(valueError("AWS_ACCOUNT_ID", from, id, "an AWS account id, 12 digits"))
	}
	d.account = id
	return id, nil
}

// show prints, with -n, a call or command not made.
func (d *deployer) show(what string, fields ...string) {
	fmt.Fprintln(d.stdout, strings.Join(append([]string{what}, fields...), " "))
}

// command runs a tool with its arguments (no shell), its output on the
// deployer's; with -n it prints it instead.
func (d *deployer) command(stdin io.Reader, name string, args ...string) error {
	return d.commandEnv(nil, stdin, name, args...)
}

// commandEnv is command with env added to the environment.
func (d *deployer) commandEnv(env []string, stdin io.Reader, name string, args ...string) error {
	if d.dryRun {
		q := slices.Clone(env)
		for _, a := range append([]string{name}, args...) {
			if a == "" || strings.ContainsAny(a, " \t\n'\"\\$`;|&<>(){}*?#~") {
				a = strconv.Quote(a)
			}
			q = append(q, a)
		}
		d.show("exec:", q...)
		return nil
	}
	cmd := exec.Command(name, args...)
	if env != nil {
		cmd.Env = append(os.Environ(), env...)
	}
	cmd.Stdin, cmd.Stdout, cmd.Stderr = stdin, d.stdout, d.stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s %s: %v", name, firstWord(args), err)
	}
	return nil
}

func firstWord(args []string) string {
	if len(args) == 0 {
		return ""
	}
	return args[0]
}

// stackParams are the parameters every deploy of the function's stack
// sets, then DEPLOY_PARAMS. RunId, PermissionsBoundary and
// CloudFormationRoleArn are always set, empty when unset: a deploy keeps a
// parameter it is not given at its previous value, which would label a new
// model's events with the run id of an earlier deploy.
func (d *deployer) stackParams(ctx context.Context, lambdaArch string) (params []param, role string, err error) {
	runID := d.env("RUN_ID")
	if runID != "" && !runIDForm.MatchString(runID) {
		return nil, "", refuse(valueError("RUN_ID", "", runID, "an MLflow run id, 32 hex digits (0-9, a-f), or nothing"))
	}
	role = d.env("CFN_ROLE_ARN")
	var boundaryDef string
	if role != "" {
		m := roleARNForm.FindStringSubmatch(role)
		if m == nil {
			return nil, "", refuse(valueError("CFN_ROLE_ARN", "", role, "the ARN of an IAM role (arn:aws:iam::<account>:role/<name>), the release stack's CloudFormationRoleArn"))
		}
		stack, err := d.stackName()
		if err != nil {
			return nil, "", err
		}
		boundaryDef = "arn:" + m[1] + ":iam::" + m[2] + ":policy/" + stack + "-function-boundary"
	}
	boundary := d.value("PERMISSIONS_BOUNDARY_ARN", boundaryDef)
	if boundary != "" && !policyARNForm.MatchString(boundary) {
		return nil, "", refuse(valueError("PERMISSIONS_BOUNDARY_ARN", "", boundary, "the ARN of a managed policy (arn:aws:iam::<account>:policy/<name>)"))
	}
	p50, p90, err := trainingPercentiles(d.trainingMonth)
	if err != nil {
		return nil, "", err
	}
	params = []param{{"Architecture", lambdaArch, "ARCH"}}
	for _, v := range []struct{ key, name, def string }{
		{"ShardCount", "SHARD_COUNT", "1"},
		{"BatchSize", "BATCH_SIZE", "100"},
		{"ParallelizationFactor", "PARALLELIZATION_FACTOR", "1"},
		{"StartingPosition", "STARTING_POSITION", "LATEST"},
		{"ReservedConcurrency", "RESERVED_CONCURRENCY", "10"},
		{"RecordRetentionDays", "RECORD_RETENTION_DAYS", "1"},
	} {
		params = append(params, param{v.key, d.value(v.name, v.def), v.name})
	}
	params = append(params,
		param{"TrainingP50Seconds", p50, d.trainingMonth},
		param{"TrainingP90Seconds", p90, d.trainingMonth},
		param{"PermissionsBoundary", boundary, "PERMISSIONS_BOUNDARY_ARN"},
		param{"RunId", runID, "RUN_ID"},
		param{"CloudFormationRoleArn", role, "CFN_ROLE_ARN"})
	extra, err := parseParams("DEPLOY_PARAMS", d.env("DEPLOY_PARAMS"))
	if err != nil {
		return nil, "", refuse(err)
	}
	return append(params, extra...), role, nil
}

// checkParams checks params against the template at tplPath.
func (d *deployer) checkParams(tplPath string, params []param) error {
	decl, err := readParameters(tplPath)
	if err != nil {
		return err
	}
	return refuse(checkParams(tplPath, decl, params))
}

// deployStack creates or updates stack from the template through a change
// set, as aws cloudformation deploy does: parameters not given keep their
// previous values on an update; a change set without changes is no error.
func (d *deployer) deployStack(ctx context.Context, stack, tplPath string, params []param, role string, caps ...cfntypes.Capability) error {
	if err := d.checkParams(tplPath, params); err != nil {
		return err
	}
	body, err := os.ReadFile(tplPath)
	if err != nil {
		return err
	}
	given := map[string]string{}
	var order []string
	for _, p := range params {
		if _, ok := given[p.key]; !ok {
			order = append(order, p.key)
		}
		given[p.key] = p.value
	}
	cfg, err := d.awsConfig(ctx)
	if err != nil {
		return err
	}
	if d.dryRun {
		fields := []string{"StackName=" + stack, "TemplateFile=" + tplPath}
		if role != "" {
			fields = append(fields, "RoleARN="+role)
		}
		for _, c := range caps {
			fields = append(fields, "Capabilities="+string(c))
		}
		for _, k := range order {
			fields = append(fields, "Parameter:"+k+"="+given[k])
		}
		d.show("cloudformation:DescribeStacks", "StackName="+stack)
		d.show("cloudformation:GetTemplateSummary", "TemplateFile="+tplPath, "(on an update)")
		d.show("cloudformation:CreateChangeSet", fields...)
		d.show("cloudformation:DescribeChangeSet", "StackName="+stack)
		d.show("cloudformation:ExecuteChangeSet", "StackName="+stack)
		return nil
	}
	cfn := cloudformation.NewFromConfig(cfg)
	kind := cfntypes.ChangeSetTypeCreate
	if out, err := cfn.DescribeStacks(ctx, &cloudformation.DescribeStacksInput{StackName: &stack}); err == nil {
		if len(out.Stacks) > 0 && out.Stacks[0].StackStatus != cfntypes.StackStatusReviewInProgress {
			kind = cfntypes.ChangeSetTypeUpdate
		}
	} else if !strings.Contains(err.Error(), "does not exist") {
		return fmt.Errorf("cloudformation DescribeStacks %s: %v", stack, err)
	}
	var cps []cfntypes.Parameter
	for _, k := range order {
		cps = append(cps, cfntypes.Parameter{ParameterKey: aws.String(k), ParameterValue: aws.String(given[k])})
	}
	if kind == cfntypes.ChangeSetTypeUpdate {
		// The parameters CloudFormation reads in the template, as aws cloudformation deploy asks.
		sum, err := cfn.GetTemplateSummary(ctx, &cloudformation.GetTemplateSummaryInput{TemplateBody: aws.String(string(body))})
		if err != nil {
			return fmt.Errorf("cloudformation GetTemplateSummary %s: %v", tplPath, err)
		}
		for _, p := range sum.Parameters {
			if k := aws.ToString(p.ParameterKey); given[k] == "" && !slices.Contains(order, k) {
				cps = append(cps, cfntypes.Parameter{ParameterKey: aws.String(k), UsePreviousValue: aws.Bool(true)})
			}
		}
	}
	name := "deploy-" + strconv.FormatInt(time.Now().Unix(), 10)
	in := &cloudformation.CreateChangeSetInput{
		StackName: &stack, ChangeSetName: &name, ChangeSetType: kind,
		TemplateBody: aws.String(string(body)), Parameters: cps, Capabilities: caps,
	}
	if role != "" {
		in.RoleARN = &role
	}
	cs, err := cfn.CreateChangeSet(ctx, in)
	if err != nil {
		return fmt.Errorf("cloudformation CreateChangeSet %s: %v", stack, err)
	}
	fmt.Fprintf(d.stdout, "Waiting for change set %s of stack %s to be created...\n", name, stack)
	desc := &cloudformation.DescribeChangeSetInput{ChangeSetName: cs.Id, StackName: &stack}
	if err := cloudformation.NewChangeSetCreateCompleteWaiter(cfn).Wait(ctx, desc, 30*time.Minute); err != nil {
		got, derr := cfn.DescribeChangeSet(ctx, desc)
		if derr == nil && got.Status == cfntypes.ChangeSetStatusFailed {
			reason := aws.ToString(got.StatusReason)
			if strings.Contains(reason, "didn't contain changes") || strings.Contains(reason, "No updates are to be performed") {
				fmt.Fprintf(d.stdout, "No changes to deploy. Stack %s is up to date\n", stack)
				return nil
			}
			return fmt.Errorf("change set of stack %s failed: %s", stack, reason)
		}
		return fmt.Errorf("change set of stack %s: %v", stack, err)
	}
	if _, err := cfn.ExecuteChangeSet(ctx, &cloudformation.ExecuteChangeSetInput{ChangeSetName: cs.Id, StackName: &stack}); err != nil {
		return fmt.Errorf("cloudformation ExecuteChangeSet %s: %v", stack, err)
	}
	fmt.Fprintf(d.stdout, "Waiting for stack %s to be %sd...\n", stack, strings.ToLower(string(kind)))
	stacks := &cloudformation.DescribeStacksInput{StackName: &stack}
	if kind == cfntypes.ChangeSetTypeCreate {
		err = cloudformation.NewStackCreateCompleteWaiter(cfn).Wait(ctx, stacks, 2*time.Hour)
	} else {
		err = cloudformation.NewStackUpdateCompleteWaiter(cfn).Wait(ctx, stacks, 2*time.Hour)
	}
	if err != nil {
		return fmt.Errorf("stack %s: %v", stack, err)
	}
	fmt.Fprintf(d.stdout, "Successfully %sd stack %s\n", strings.ToLower(string(kind)), stack)
	return nil
}

// builtZip is the zip a deployment ships: DEPLOY_ZIP, dist/function-<arch>.zip
// by default, and its SHA-256. A dry run goes on without it.
type builtZip struct {
	path, lambdaArch string
	body             []byte
	sum              [sha256.Size]byte
}

func (d *deployer) builtZip() (builtZip, error) {
	goarch, lambdaArch, err := d.arch()
	if err != nil {
		return builtZip{}, err
	}
	z := builtZip{path: d.value("DEPLOY_ZIP", "dist/function-"+goarch+".zip"), lambdaArch: lambdaArch}
	if strings.HasPrefix(z.path, "-") {
		return builtZip{}, refuse(valueError("DEPLOY_ZIP", "", z.path, "a path that does not start with '-'"))
	}
	z.body, err = os.ReadFile(z.path)
	if err != nil && !d.dryRun {
		return builtZip{}, refuse(fmt.Errorf("%s not found (make package builds it)", z.path))
	}
	z.sum = sha256.Sum256(z.body)
	return z, nil
}

// deployBuilt uploads the built zip as it is to ARTIFACT_BUCKET (the key
// names its content hash) and deploys the zip variant. The bucket is the
// release stack's, in this account: ExpectedBucketOwner refuses to upload
// to a bucket of the same name that another account owns.
func (d *deployer) deployBuilt(ctx context.Context) error {
	stack, err := d.stackName()
	if err != nil {
		return err
	}
	_, lambdaArch, err := d.arch()
	if err != nil {
		return err
	}
	params, role, err := d.stackParams(ctx, lambdaArch)
	if err != nil {
		return err
	}
	cfg, err := d.awsConfig(ctx)
	if err != nil {
		return err
	}
	account, err := d.accountID(ctx)
	if err != nil {
		return err
	}
	bucket, err := d.checked("ARTIFACT_BUCKET", stack+"-code-"+account+"-"+cfg.Region, bucketForm, "an S3 bucket name (the release stack's code bucket)")
	if err != nil {
		return err
	}
	if err := d.checkParams(d.template, params); err != nil {
		return err
	}
	// The zip is looked for once every value is checked: a bad value is
	// reported whether or not the zip was built.
	zip, err := d.builtZip()
	if err != nil {
		return err
	}
	hash := "<sha256 of " + zip.path + ">"
	if zip.body != nil {
		hash = hex.EncodeToString(zip.sum[:])[:16]
	}
	key := stack + "/function-" + zip.lambdaArch + "-" + hash + ".zip"
	params = append([]param{{"PackageType", "Zip", ""}, {"CodeBucket", bucket, "ARTIFACT_BUCKET"}, {"CodeKey", key, ""}}, params...)
	if d.dryRun {
		d.show("s3:PutObject", "Bucket="+bucket, "Key="+key, "Body="+zip.path, "ExpectedBucketOwner="+account)
	} else {
		out, err := s3.NewFromConfig(cfg).PutObject(ctx, &s3.PutObjectInput{
			Bucket: &bucket, Key: &key, Body: bytes.NewReader(zip.body), ExpectedBucketOwner: &account,
		})
		if err != nil {
			return fmt.Errorf("s3 PutObject s3://%s/%s: %v", bucket, key, err)
		}
		fmt.Fprintf(d.stdout, "uploaded %s to s3://%s/%s (version %s)\n", zip.path, bucket, key, aws.ToString(out.VersionId))
	}
	return d.deployStack(ctx, stack, d.template, params, role, cfntypes.CapabilityCapabilityNamedIam, cfntypes.CapabilityCapabilityAutoExpand)
}

// ecrRepository is ECR_REPO, and its URI in ECR_REGISTRY (the account's
// registry in the region by default).
func (d *deployer) ecrRepository(ctx context.Context) (repo, uri string, err error) {
	repo, err = d.checked("ECR_REPO", "ride-duration", ecrRepoForm, "an ECR repository name (lower-case letters, digits, . _ - /)")
	if err != nil {
		return "", "", err
	}
	cfg, err := d.awsConfig(ctx)
	if err != nil {
		return "", "", err
	}
	registry := d.env("ECR_REGISTRY")
	if registry == "" {
		account, err := d.accountID(ctx)
		if err != nil {
			return "", "", err
		}
		registry = account + ".dkr.ecr." + cfg.Region + ".amazonaws.com"
	}
	if !registryForm.MatchString(registry) {
		return "", "", refuse(valueError("ECR_REGISTRY", "", registry, "a registry host name, with a port if any"))
	}
	return repo, registry + "/" + repo, nil
}

// ecrRepo creates the repository ECR_REPO, scanning on push, if it does
// not exist.
func (d *deployer) ecrRepo(ctx context.Context) error {
	repo, _, err := d.ecrRepository(ctx)
	if err != nil {
		return err
	}
	cfg, _ := d.awsConfig(ctx)
	if d.dryRun {
		d.show("ecr:DescribeRepositories", "RepositoryNames="+repo)
		d.show("ecr:CreateRepository", "RepositoryName="+repo, "ScanOnPush=true")
		return nil
	}
	c := ecr.NewFromConfig(cfg)
	if _, err := c.DescribeRepositories(ctx, &ecr.DescribeRepositoriesInput{RepositoryNames: []string{repo}}); err == nil {
		return nil
	} else if !errors.As(err, new(*ecrtypes.RepositoryNotFoundException)) {
		return fmt.Errorf("ecr DescribeRepositories %s: %v", repo, err)
	}
	if _, err := c.CreateRepository(ctx, &ecr.CreateRepositoryInput{RepositoryName: &repo,
		ImageScanningConfiguration: &ecrtypes.ImageScanningConfiguration{ScanOnPush: true}}); err != nil {
		return fmt.Errorf("ecr CreateRepository %s: %v", repo, err)
	}
	fmt.Fprintf(d.stdout, "created ECR repository %s\n", repo)
	return nil
}

// container is CONTAINER (podman or docker) and the local image IMAGE.
func (d *deployer) container() (tool, image string, err error) {
	tool = d.value("CONTAINER", "podman")
	if strings.HasPrefix(tool, "-") || strings.ContainsAny(tool, " \t\n") {
		return "", "", refuse(valueError("CONTAINER", "", tool, "a command: podman or docker, or a path to one"))
	}
	image, err = d.checked("IMAGE", "stream-model-duration:v1", imageForm, "an image name[:tag] (lower-case name)")
	return tool, image, err
}

// push builds the image for ARCH (make image-<arch>), logs the container
// tool in to the registry and pushes the image as ECR_URI:IMAGE_TAG.
func (d *deployer) push(ctx context.Context) error {
	goarch, _, err := d.arch()
	if err != nil {
		return err
	}
	tool, image, err := d.container()
	if err != nil {
		return err
	}
	tag, err := d.tag()
	if err != nil {
		return refuse(err)
	}
	repo, uri, err := d.ecrRepository(ctx)
	if err != nil {
		return err
	}
	_ = repo
	if err := d.ecrRepo(ctx); err != nil {
		return err
	}
	if err := d.command(nil, "make", "--no-print-directory", "image-"+goarch); err != nil {
		return err
	}
	registry, _, _ := strings.Cut(uri, "/")
	user, password := "AWS", ""
	if d.dryRun {
		d.show("ecr:GetAuthorizationToken")
	} else {
		cfg, _ := d.awsConfig(ctx)
		out, err := ecr.NewFromConfig(cfg).GetAuthorizationToken(ctx, &ecr.GetAuthorizationTokenInput{})
		if err != nil || len(out.AuthorizationData) == 0 {
			return fmt.Errorf("ecr GetAuthorizationToken: %v", err)
		}
		tok, err := base64.StdEncoding.DecodeString(aws.ToString(out.AuthorizationData[0].AuthorizationToken))
		if err != nil {
			return fmt.Errorf("ecr GetAuthorizationToken: the token is not base64: %v", err)
		}
		u, p, ok := strings.Cut(string(tok), ":")
		if !ok {
			return errors.New("ecr GetAuthorizationToken: the token is not user:password")
		}
		user, password = u, p
	}
	if err := d.command(strings.NewReader(password), tool, "login", "--username", user, "--password-stdin", registry); err != nil {
		return err
	}
	if err := d.command(nil, tool, "tag", image+"-"+goarch, uri+":"+tag); err != nil {
		return err
	}
	return d.command(nil, tool, "push", uri+":"+tag)
}

// deployImage pushes the image, then deploys the stack running it, pinned
// by its digest.
func (d *deployer) deployImage(ctx context.Context) error {
	stack, err := d.stackName()
	if err != nil {
		return err
	}
	_, lambdaArch, err := d.arch()
	if err != nil {
		return err
	}
	params, role, err := d.stackParams(ctx, lambdaArch)
	if err != nil {
		return err
	}
	tag, err := d.tag()
	if err != nil {
		return refuse(err)
	}
	repo, uri, err := d.ecrRepository(ctx)
	if err != nil {
		return err
	}
	// The parameters are checked before anything is pushed.
	if err := d.checkParams(d.template, params); err != nil {
		return err
	}
	if err := d.push(ctx); err != nil {
		return err
	}
	digest := "<digest of " + uri + ":" + tag + ">"
	if d.dryRun {
		d.show("ecr:DescribeImages", "RepositoryName="+repo, "ImageTag="+tag)
	} else {
		cfg, _ := d.awsConfig(ctx)
		out, err := ecr.NewFromConfig(cfg).DescribeImages(ctx, &ecr.DescribeImagesInput{RepositoryName: &repo,
			ImageIds: []ecrtypes.ImageIdentifier{{ImageTag: &tag}}})
		if err != nil || len(out.ImageDetails) == 0 {
			return fmt.Errorf("ecr DescribeImages %s:%s: %v", repo, tag, err)
		}
		digest = aws.ToString(out.ImageDetails[0].ImageDigest)
	}
	params = append([]param{{"PackageType", "Image", ""}, {"ImageUri", uri + "@" + digest, ""}}, params...)
	return d.deployStack(ctx, stack, d.template, params, role, cfntypes.CapabilityCapabilityNamedIam, cfntypes.CapabilityCapabilityAutoExpand)
}

// outputs are the stack's outputs.
func (d *deployer) outputs(ctx context.Context, stack string) ([]cfntypes.Output, error) {
	cfg, err := d.awsConfig(ctx)
	if err != nil {
		return nil, err
	}
	if d.dryRun {
		d.show("cloudformation:DescribeStacks", "StackName="+stack)
		return nil, nil
	}
	out, err := cloudformation.NewFromConfig(cfg).DescribeStacks(ctx, &cloudformation.DescribeStacksInput{StackName: &stack})
	if err != nil {
		return nil, fmt.Errorf("cloudformation DescribeStacks %s: %v", stack, err)
	}
	if len(out.Stacks) == 0 {
		return nil, fmt.Errorf("no stack %s", stack)
	}
	return out.Stacks[0].Outputs, nil
}

// printOutputs prints the stack's outputs as a table.
func (d *deployer) printOutputs(ctx context.Context, stack string) error {
	outs, err := d.outputs(ctx, stack)
	if err != nil || d.dryRun {
		return err
	}
	w := tabwriter.NewWriter(d.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintf(w, "%s\n", stack)
	for _, o := range outs {
		fmt.Fprintf(w, "%s\t%s\t%s\n", aws.ToString(o.OutputKey), aws.ToString(o.OutputValue), aws.ToString(o.Description))
	}
	return w.Flush()
}

func (d *deployer) stackOutputs(ctx context.Context) error {
	stack, err := d.stackName()
	if err != nil {
		return err
	}
	return d.printOutputs(ctx, stack)
}

// stackDelete deletes the stack and waits until it is gone.
func (d *deployer) stackDelete(ctx context.Context) error {
	stack, err := d.stackName()
	if err != nil {
		return err
	}
	cfg, err := d.awsConfig(ctx)
	if err != nil {
		return err
	}
	if d.dryRun {
		d.show("cloudformation:DeleteStack", "StackName="+stack)
		d.show("cloudformation:DescribeStacks", "StackName="+stack)
		return nil
	}
	cfn := cloudformation.NewFromConfig(cfg)
	if _, err := cfn.DeleteStack(ctx, &cloudformation.DeleteStackInput{StackName: &stack}); err != nil {
		return fmt.Errorf("cloudformation DeleteStack %s: %v", stack, err)
	}
	if err := cloudformation.NewStackDeleteCompleteWaiter(cfn).Wait(ctx, &cloudformation.DescribeStacksInput{StackName: &stack}, time.Hour); err != nil {
		return fmt.Errorf("stack %s: %v", stack, err)
	}
	fmt.Fprintf(d.stdout, "deleted stack %s\n", stack)
	return nil
}

// verify checks that the stack's function runs the built zip: Lambda's
// CodeSha256 is the zip's SHA-256, base64.
func (d *deployer) verify(ctx context.Context) error {
	stack, err := d.stackName()
	if err != nil {
		return err
	}
	zip, err := d.builtZip()
	if err != nil {
		return err
	}
	built := base64.StdEncoding.EncodeToString(zip.sum[:])
	outs, err := d.outputs(ctx, stack)
	if err != nil {
		return err
	}
	if d.dryRun {
		d.show("lambda:GetFunctionConfiguration", "FunctionName=<the stack's FunctionName output>")
		return nil
	}
	var fn string
	for _, o := range outs {
		if aws.ToString(o.OutputKey) == "FunctionName" {
			fn = aws.ToString(o.OutputValue)
		}
	}
	if fn == "" {
		return fmt.Errorf("stack %s has no output FunctionName", stack)
	}
	cfg, _ := d.awsConfig(ctx)
	conf, err := lambda.NewFromConfig(cfg).GetFunctionConfiguration(ctx, &lambda.GetFunctionConfigurationInput{FunctionName: &fn})
	if err != nil {
		return fmt.Errorf("lambda GetFunctionConfiguration %s: %v", fn, err)
	}
	if deployed := aws.ToString(conf.CodeSha256); deployed != built {
		return fmt.Errorf("%s runs CodeSha256 %s, not %s's %s", fn, deployed, zip.path, built)
	}
	fmt.Fprintf(d.stdout, "%s runs %s (CodeSha256 %s)\n", fn, zip.path, built)
	return nil
}

// deployRelease deploys the release stack (lambda/release.yaml) for the
// function's stack, GITHUB_REPOSITORY's CD and the MLflow experiment
// MLFLOW_ARTIFACTS, then prints its outputs.
func (d *deployer) deployRelease(ctx context.Context) error {
	stack, err := d.stackName()
	if err != nil {
		return err
	}
	release, err := d.checked("RELEASE_STACK_NAME", stack+"-release", stackForm, "a stack name: a letter, then letters, digits and -, at most 128")
	if err != nil {
		return err
	}
	repo := d.env("GITHUB_REPOSITORY")
	if repo == "" {
		return refuse(errors.New("set GITHUB_REPOSITORY=<owner>/<repo>, the repository whose CD assumes the roles"))
	}
	if !repoForm.MatchString(repo) {
		return refuse(valueError("GITHUB_REPOSITORY", "", repo, "<owner>/<repo>"))
	}
	artifacts := d.value("MLFLOW_ARTIFACTS", "s3://mlflow-nyc-taxi-reg-exp/4")
	m := mlflowForm.FindStringSubmatch(artifacts)
	if m == nil {
		return refuse(fmt.Errorf("MLFLOW_ARTIFACTS=%s: want s3://<bucket>/<prefix>, the experiment the model role may read", artifacts))
	}
	params := []param{{"GitHubRepository", repo, "GITHUB_REPOSITORY"}, {"FunctionStackName", stack, "STACK_NAME"},
		{"MlflowArtifactBucket", m[1], "MLFLOW_ARTIFACTS"}, {"MlflowArtifactPrefix", m[2], "MLFLOW_ARTIFACTS"}}
	if oidc := d.env("GITHUB_OIDC_PROVIDER_ARN"); oidc != "" {
		if !oidcARNForm.MatchString(oidc) {
			return refuse(valueError("GITHUB_OIDC_PROVIDER_ARN", "", oidc, "the ARN of the account's OIDC provider (arn:aws:iam::<account>:oidc-provider/token.actions.githubusercontent.com)"))
		}
		params = append(params, param{"GitHubOIDCProviderArn", oidc, "GITHUB_OIDC_PROVIDER_ARN"})
	}
	extra, err := parseParams("RELEASE_PARAMS", d.env("RELEASE_PARAMS"))
	if err != nil {
		return refuse(err)
	}
	if err := d.deployStack(ctx, release, d.releaseTemplate, append(params, extra...), "", cfntypes.CapabilityCapabilityNamedIam); err != nil {
		return err
	}
	return d.printOutputs(ctx, release)
}

func sorted(s []string) []string {
	slices.Sort(s)
	return s
}
