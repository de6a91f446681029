module github.com/kse-project/kse/examples/go

go 1.25

require github.com/kse-project/kse/bindings/go v0.0.0

replace github.com/kse-project/kse/bindings/go => ../../bindings/go
