// picket/axios: the axios adapter. axios is an optional peer dependency.

export { axiosAdapter } from '@picket/http/axios';
