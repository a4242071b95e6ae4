// picket/axios: the axios adapter. axios is an optional peer dependency.

export { type AxiosAdapterOptions, axiosAdapter } from '@picket/http/axios';
