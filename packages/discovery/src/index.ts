// @picket/discovery: providers that deliver a service's instances to the balancer, composition of
// providers, and self-registration.

export { type Backoff, type BackoffOptions, backoff } from './backoff.ts';
export { createProvider, type ProviderContext, type ProviderLimits, type ProviderSpec } from './base.ts';
export { type ConsulOptions, consul } from './consul.ts';
export { type DnsOptions, dns } from './dns.ts';
export { type EtcdOptions, etcd } from './etcd.ts';
export type { EtcdConnectionOptions } from './etcd-client.ts';
export { type EurekaOptions, eureka } from './eureka.ts';
export { type FileListOptions, fileList } from './file-list.ts';
export { filter, type InstancePredicate } from './filter.ts';
export { HttpStatusError, type TlsOptions } from './http-json.ts';
export { type KubernetesOptions, kubernetes } from './kubernetes.ts';
export { merge } from './merge.ts';
export type { Provider, ProviderEvents } from './provider.ts';
export { type RegisterConsulOptions, registerConsul } from './register-consul.ts';
export { type RegisterEtcdOptions, registerEtcd } from './register-etcd.ts';
export { type RegisterEurekaOptions, registerEureka } from './register-eureka.ts';
export type { Registrar, RegistrarEvents } from './registrar.ts';
export { type StaticListProvider, staticList } from './static-list.ts';
export { type WhereOptions, where } from './where.ts';
