module github.com/kse-project/kse/bindings/go

go 1.25
