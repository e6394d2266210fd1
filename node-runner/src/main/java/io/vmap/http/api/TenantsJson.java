package io.vmap.http.api;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import io.vmap.client.VmapInfo;
import java.util.List;

/**
 * {@code GET /v1/tenants}: {@code {"tenants":[{"tenant":"a","areas":2,"bytes":8192,...}]}}, each
 * tenant's usage over the whole space and its quota, as in {@code /v1/info}'s {@code tenants}.
 */
@JsonIgnoreProperties(ignoreUnknown = true)
public record TenantsJson(List<InfoJson.TenantJson> tenants) {

  public static TenantsJson of(List<VmapInfo.TenantInfo> rows) {
    return new TenantsJson(rows.stream().map(InfoJson.TenantJson::of).toList());
  }
}
