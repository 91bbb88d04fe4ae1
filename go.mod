module github.com/a3s-box/a3s-box

go 1.26.8

require github.com/hashicorp/yamux v0.1.2

require (
	github.com/google/go-containerregistry v0.22.1 // indirect
	github.com/mdlayher/socket v0.8.0 // indirect
	github.com/mdlayher/vsock v1.4.0 // indirect
	golang.org/x/net v0.62.0 // indirect
	golang.org/x/sync v0.24.0 // indirect
	golang.org/x/sys v0.50.0 // indirect
)
