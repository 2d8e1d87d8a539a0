module github.com/atlas-accounting/atlas-go

go 1.23
