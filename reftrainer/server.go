package reftrainer

import (
	"net"
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

// Local is a reference trainer served on a loopback port inside the current
// process: the driver's default when no --trainer is given. It speaks real
// gRPC over a real socket, exactly as a remote trainer would.
type Local struct {
	Service *Service
	// Addr is the loopback address it listens on.
	Addr string
	srv  *grpc.Server
}

// StartLocal starts a reference trainer on 127.0.0.1 on a free port.
func StartLocal(cfg Config) (*Local, error) {
	svc, err := New(cfg)
	if err != nil {
		return nil, err
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		svc.Close()
		return nil, err
	}
	srv, _ := NewGRPCServer(svc)
	go func() { _ = srv.Serve(lis) }()
	return &Local{Service: svc, Addr: lis.Addr().String(), srv: srv}, nil
}

// Close stops serving and stops the trainer; unfinished jobs stay recorded
// in its state directory and run again when a trainer starts on it.
func (l *Local) Close() {
	l.srv.Stop()
	l.Service.Close()
}
