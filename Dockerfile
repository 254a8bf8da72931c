# Container image of the ride duration Lambda function (runtime: OS-only provided.al2023).
#   docker buildx build --platform linux/arm64 --provenance=false -t ride-duration:dev --load .
# (`make image` does this; --provenance=false keeps a plain image manifest, which Lambda requires.)

# Build natively on the builder's platform and cross-compile for the target (no emulation).
FROM --platform=$BUILDPLATFORM golang:1.26 AS build
ARG TARGETOS TARGETARCH
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 GOOS=${TARGETOS:-linux} GOARCH=${TARGETARCH} \
    go build -tags lambda.norpc -trimpath -ldflags="-s -w" -o /out/bootstrap ./cmd/bootstrap

# The base image's entrypoint (/lambda-entrypoint.sh) runs /var/runtime/bootstrap (under the
# bundled runtime interface emulator when started outside Lambda). It requires exactly one
# argument, the handler name, which a Go binary ignores.
FROM public.ecr.aws/lambda/provided:al2023
COPY --from=build /out/bootstrap /var/runtime/bootstrap
CMD ["bootstrap"]
