import { metrics } from '@opentelemetry/api';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { afterEach, describe, expect, it } from 'vitest';
import { meterFor } from './metrics.ts';

afterEach(() => {
  metrics.disable();
});

describe('meterFor', () => {
  it('gives no meter while the global provider is the API no-op one, so nothing is built per request', () => {
    expect(meterFor(undefined)).toBeNull();
    expect(meterFor({ perInstance: false })).toBeNull();
  });

  it('gives the SDK meter once an SDK is registered globally, and none with metrics: false', async () => {
    const provider = new MeterProvider();
    metrics.setGlobalMeterProvider(provider);
    expect(meterFor(undefined)).not.toBeNull();
    expect(meterFor({})).not.toBeNull();
    expect(meterFor(false)).toBeNull();
    await provider.shutdown();
  });

  it('records on a meter provider given by option whatever is registered globally', async () => {
    const provider = new MeterProvider();
    expect(meterFor({ meterProvider: provider })).not.toBeNull();
    await provider.shutdown();
  });
});
