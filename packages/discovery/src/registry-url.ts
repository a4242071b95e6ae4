// The option schema for a registry's address, shared by the HTTP-speaking providers and
// registrars: credentials never ride in a URL, where they would end up in names and logs.

import { z } from 'zod';

export const registryUrl = z.string().refine(
  (value) => {
    try {
      const url = new URL(value);
      return (
        (url.protocol === 'http:' || url.protocol === 'https:') && url.username === '' && url.password === ''
      );
    } catch {
      return false;
    }
  },
  { error: 'must be an http:// or https:// URL without credentials (pass tokens as options)' },
);
