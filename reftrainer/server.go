package reftrainer

import (
	"time"

	trainerv1 "github.com/mixopt/mixopt/proto/mixopt/trainer/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/reflection"
)

// NewGRPCServer returns a gRPC server that serves svc, the standard health
// service (SERVING for "" and for the trainer service) and server reflection
// (so grpcurl and other generic clients work without the .proto files). Its
// keepalive policy admits the driver's pings (every 30 s, also between calls).
func NewGRPCServer(svc *Service, opts ...grpc.ServerOption) (*grpc.Server, *health.Server) {
	opts = append([]grpc.ServerOption{
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: 10 * time.Second, PermitWithoutStream: true}),
		grpc.KeepaliveParams(keepalive.ServerParameters{Time: time.Minute, Timeout: 20 * time.Second}),
	}, opts...)
	s := grpc.NewServer(opts...)
	hs := health.NewServer()
	healthpb.RegisterHealthServer(s, hs)
	trainerv1.RegisterTrainerServiceServer(s, svc)
	hs.SetServingStatus(trainerv1.TrainerService_ServiceDesc.ServiceName, healthpb.HealthCheckResponse_SERVING)
	reflection.Register(s)
	return s, hs
}
