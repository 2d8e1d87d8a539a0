module github.com/atlas-accounting/atlas-go/examples/replicas

go 1.26.0

require (
	github.com/alicebob/miniredis/v2 v2.40.0
	github.com/atlas-accounting/atlas-go v0.0.0-00010101000000-000000000000
	github.com/atlas-accounting/atlas-go/atlasredis v0.0.0-00010101000000-000000000000
	github.com/redis/go-redis/v9 v9.23.0
	github.com/shopspring/decimal v1.4.0
	github.com/stretchr/testify v1.12.1
	go.uber.org/goleak v1.3.0
)

require (
	github.com/cespare/xxhash/v2 v2.3.0 // indirect
	github.com/go-redis/redis_rate/v10 v10.0.1 // indirect
	github.com/google/uuid v1.6.0 // indirect
	github.com/hashicorp/go-cleanhttp v0.5.2 // indirect
	github.com/hashicorp/go-retryablehttp v0.7.8 // indirect
	github.com/yuin/gopher-lua v1.1.1 // indirect
	go.uber.org/atomic v1.12.0 // indirect
	go.yaml.in/yaml/v3 v3.0.5 // indirect
	golang.org/x/sys v0.48.0 // indirect
	golang.org/x/time v0.9.0 // indirect
)

replace (
	github.com/atlas-accounting/atlas-go => ../..
	github.com/atlas-accounting/atlas-go/atlasredis => ../../atlasredis
)
