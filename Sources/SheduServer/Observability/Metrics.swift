import Metrics
import Prometheus

/// The process's metrics registry, bootstrapped into swift-metrics once (the first server built
/// in a process does it; later ones, as in tests, share it).
enum MetricsRegistry {
    static let shared: PrometheusCollectorRegistry = {
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
        return registry
    }()
}
