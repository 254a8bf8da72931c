// Package deploy holds the deployment as code: template.yaml, an AWS SAM template with the
// Kinesis streams, the function (zip or container image), its least-privilege role and the
// Kinesis event-source mapping. The package has no code; its tests lint the template with
// cfn-lint and check the properties the function relies on (partial batch responses, finite
// retries, the on-failure destination, 128 MB, where PutRecords may write), and check the
// repository's Dockerfile.
package deploy
