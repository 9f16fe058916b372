#!/bin/bash
# devstack plugin for mogan-valence: a Mogan-compatible bare-metal compute
# service that composes servers through Valence. Enable with:
#
#   enable_plugin mogan-valence <repository> [branch]
#
# Settings are in devstack/settings.

# Save trace setting
_XTRACE_MOGAN_VALENCE=$(set +o | grep xtrace)
set +o xtrace

# More than one engine: the mogan-valence-engine-N services instead of
# mogan-valence-engine, sharing a jobboard and locks in Redis.
function mogan_valence_several_engines {
    if [[ ! "$MOGAN_VALENCE_ENGINES" =~ ^[1-9][0-9]*$ ]]; then
        die $LINENO "MOGAN_VALENCE_ENGINES must be a number of engines (1 or more), not '$MOGAN_VALENCE_ENGINES'"
    fi
    ((MOGAN_VALENCE_ENGINES > 1))
}

# What engine N reads after $MOGAN_VALENCE_CONF_FILE: its own [engine] host.
function mogan_valence_engine_conf {
    echo "$MOGAN_VALENCE_CONF_DIR/mogan-valence-engine-$1.conf"
}

function install_mogan_valence_redis {
    # The distribution's package, run as its system service. Append-only
    # persistence: jobs, claims and locks survive a Redis restart.
    local service=redis-server redis_conf
    if is_ubuntu; then
        install_package redis-server
    else
        install_package redis
        service=redis
    fi
    for redis_conf in /etc/redis/redis.conf /etc/redis.conf; do
        if [[ -f "$redis_conf" ]]; then
            sudo sed -i -e 's/^appendonly .*/appendonly yes/' "$redis_conf"
            break
        fi
    done
    restart_service "$service"
}

function install_mogan_valence {
    setup_develop "$MOGAN_VALENCE_DIR"
    if is_service_enabled mogan-valence-api; then
        install_apache_uwsgi
    fi
    if mogan_valence_several_engines && [[ "$MOGAN_VALENCE_INSTALL_REDIS" == "True" ]]; then
        install_mogan_valence_redis
    fi
}

function create_mogan_valence_accounts {
    # One service user: the 'service' role lets keystonemiddleware validate
    # tokens; 'admin' lets the engine enroll composed nodes in Ironic.
    create_service_user mogan-valence service
    create_service_user mogan-valence admin
    if is_service_enabled mogan-valence-api; then
        get_or_create_service "$MOGAN_VALENCE_SERVICE_NAME" \
            "$MOGAN_VALENCE_SERVICE_TYPE" "Bare metal compute service (mogan-valence)"
        get_or_create_endpoint "$MOGAN_VALENCE_SERVICE_TYPE" "$REGION_NAME" \
            "$MOGAN_VALENCE_API_URL/v1"
    fi
}

function configure_mogan_valence_api {
    local conf=$MOGAN_VALENCE_CONF_FILE
    iniset "$conf" api auth_strategy keystone
    iniset "$conf" api public_endpoint "$MOGAN_VALENCE_API_URL"
    # Apache (and tls-proxy) stand in front: believe its X-Forwarded-*.
    iniset "$conf" oslo_middleware enable_proxy_headers_parsing True
    configure_keystone_authtoken_middleware "$conf" mogan-valence keystone_authtoken \
        "$MOGAN_VALENCE_SERVICE_TYPE"

    # uwsgi serves mogan_valence.api.wsgi:application on a unix socket that
    # Apache proxies $MOGAN_VALENCE_API_URL to.
    write_uwsgi_config "$MOGAN_VALENCE_UWSGI_CONF" "$MOGAN_VALENCE_UWSGI" \
        /baremetal_compute "" mogan-valence-api
    iniset "$MOGAN_VALENCE_UWSGI_CONF" uwsgi env \
        "MOGAN_VALENCE_CONFIG_FILES=$MOGAN_VALENCE_CONF_FILE"
}

function configure_mogan_valence_engines {
    # Every engine and the API: the same jobboard and coordination backend.
    local conf=$MOGAN_VALENCE_CONF_FILE engine_conf i
    iniset "$conf" engine jobboard_backend "$MOGAN_VALENCE_REDIS_URL"
    iniset "$conf" coordination backend_url "$MOGAN_VALENCE_REDIS_URL"
    for ((i = 1; i <= MOGAN_VALENCE_ENGINES; i++)); do
        engine_conf=$(mogan_valence_engine_conf "$i")
        rm -f "$engine_conf"
        iniset "$engine_conf" engine host "$(hostname)-$i"
    done
}

function configure_mogan_valence {
    sudo install -d -o "$STACK_USER" "$MOGAN_VALENCE_CONF_DIR" "$MOGAN_VALENCE_STATE_PATH"
    local conf=$MOGAN_VALENCE_CONF_FILE
    cp "$MOGAN_VALENCE_DIR/etc/mogan-valence/mogan-valence.conf.sample" "$conf"

    iniset "$conf" DEFAULT state_path "$MOGAN_VALENCE_STATE_PATH"
    iniset "$conf" DEFAULT debug "$ENABLE_DEBUG_LOG_LEVEL"
    iniset_rpc_backend mogan-valence "$conf"
    iniset "$conf" database connection "$(database_connection_url mogan_valence)"

    iniset "$conf" engine host "$(hostname)"
    iniset "$conf" engine enabled_extensions valence

    create_mogan_valence_accounts

    # Ironic through Keystone, as the mogan-valence service user.
    iniset "$conf" ironic auth_type password
    iniset "$conf" ironic auth_url "$KEYSTONE_SERVICE_URI"
    iniset "$conf" ironic username mogan-valence
    iniset "$conf" ironic password "$SERVICE_PASSWORD"
    iniset "$conf" ironic project_name "$SERVICE_PROJECT_NAME"
    iniset "$conf" ironic user_domain_name "$SERVICE_DOMAIN_NAME"
    iniset "$conf" ironic project_domain_name "$SERVICE_DOMAIN_NAME"
    iniset "$conf" ironic region_name "$REGION_NAME"

    iniset "$conf" valence url "$MOGAN_VALENCE_URL"
    iniset "$conf" valence podm_id "$MOGAN_VALENCE_PODM_ID"
    iniset "$conf" valence resource_class "$MOGAN_VALENCE_RESOURCE_CLASS"
    iniset "$conf" valence enroll_driver "$MOGAN_VALENCE_ENROLL_DRIVER"
    if [[ "$MOGAN_VALENCE_ENROLL_DRIVER" == "redfish" ]]; then
        iniset "$conf" valence redfish_address "$MOGAN_VALENCE_REDFISH_ADDRESS"
        iniset "$conf" valence redfish_username "$MOGAN_VALENCE_REDFISH_USERNAME"
        iniset "$conf" valence redfish_password "$MOGAN_VALENCE_REDFISH_PASSWORD"
        iniset "$conf" valence redfish_verify_ca False
    fi

    if mogan_valence_several_engines; then
        configure_mogan_valence_engines
    fi

    if is_service_enabled mogan-valence-api; then
        configure_mogan_valence_api
    fi
}

function init_mogan_valence {
    recreate_database mogan_valence
    "$MOGAN_VALENCE_BIN_DIR/mogan-valence-dbsync" --config-file "$MOGAN_VALENCE_CONF_FILE" upgrade
}

function start_mogan_valence {
    if [[ "$MOGAN_VALENCE_USE_SIMULATOR" == "True" ]]; then
        run_process mogan-valence-simulator "$MOGAN_VALENCE_BIN_DIR/mogan-valence-simulator \
--host $SERVICE_LISTEN_ADDRESS --port $MOGAN_VALENCE_SIMULATOR_PORT \
--systems $MOGAN_VALENCE_SIMULATOR_SYSTEMS --state-dir $MOGAN_VALENCE_STATE_PATH/simulator \
--redfish-host $SERVICE_LISTEN_ADDRESS --redfish-port $MOGAN_VALENCE_SIMULATOR_REDFISH_PORT \
--redfish-username $MOGAN_VALENCE_REDFISH_USERNAME \
--redfish-password $MOGAN_VALENCE_REDFISH_PASSWORD"
        wait_for_service "$SERVICE_TIMEOUT" "$MOGAN_VALENCE_URL/v1"
    fi
    if is_service_enabled mogan-valence-engine; then
        if mogan_valence_several_engines; then
            local i
            for ((i = 1; i <= MOGAN_VALENCE_ENGINES; i++)); do
                run_process "mogan-valence-engine-$i" "$MOGAN_VALENCE_BIN_DIR/mogan-valence-engine \
--config-file $MOGAN_VALENCE_CONF_FILE --config-file $(mogan_valence_engine_conf "$i")"
            done
        else
            run_process mogan-valence-engine "$MOGAN_VALENCE_BIN_DIR/mogan-valence-engine \
--config-file $MOGAN_VALENCE_CONF_FILE"
        fi
    fi
    if is_service_enabled mogan-valence-api; then
        run_process mogan-valence-api "$(which uwsgi) --procname-prefix mogan-valence-api \
--ini $MOGAN_VALENCE_UWSGI_CONF"
        # The version document needs no token.
        wait_for_service "$SERVICE_TIMEOUT" "$MOGAN_VALENCE_API_URL/v1"
    fi
}

function create_mogan_valence_flavor {
    # Through the REST API as a project-scoped admin (flavors are admin-only).
    # Until the engine serves RPC the API answers 5xx (or the client gives up
    # first): try again until $SERVICE_TIMEOUT. 409 means the flavor exists,
    # from an earlier 'stack' or from an attempt whose answer was lost.
    local token body status
    local out
    out=$(mktemp)
    token=$(openstack --os-cloud "$MOGAN_VALENCE_OS_CLOUD" token issue -f value -c id)
    body="{\"name\": \"$MOGAN_VALENCE_FLAVOR\", \"composition\": $MOGAN_VALENCE_FLAVOR_COMPOSITION}"
    local deadline=$((SECONDS + SERVICE_TIMEOUT))
    while true; do
        status=$(curl -g -s -o "$out" -w '%{http_code}' --max-time 15 -X POST \
            -H "X-Auth-Token: $token" -H "Content-Type: application/json" \
            -d "$body" "$MOGAN_VALENCE_API_URL/v1/flavors") || status=000
        if [[ "$status" == "201" || "$status" == "409" ]]; then
            break
        fi
        if [[ "$status" == 4* || $SECONDS -ge $deadline ]]; then
            local answer
            answer=$(cat "$out")
            rm -f "$out"
            die $LINENO "creating flavor $MOGAN_VALENCE_FLAVOR failed (HTTP $status): $answer"
        fi
        sleep 2
    done
    rm -f "$out"
}

function configure_mogan_valence_tempest {
    # [mogan_valence] of tempest.conf: the scenarios reach the API through
    # the catalog as devstack's demo user, and alt_demo for tenant isolation.
    local conf=$TEMPEST_CONFIG
    local image=$MOGAN_VALENCE_TEMPEST_IMAGE
    if [[ -z "$image" ]] && is_service_enabled glance; then
        image=$(openstack --os-cloud "$MOGAN_VALENCE_OS_CLOUD" image show \
            -f value -c id "$DEFAULT_IMAGE_NAME" 2>/dev/null || true)
    fi
    iniset "$conf" service_available mogan_valence True
    iniset "$conf" mogan_valence auth_url "$KEYSTONE_SERVICE_URI/v3"
    iniset "$conf" mogan_valence region_name "$REGION_NAME"
    iniset "$conf" mogan_valence user_domain_name Default
    iniset "$conf" mogan_valence project_domain_name Default
    iniset "$conf" mogan_valence username demo
    iniset "$conf" mogan_valence password "$ADMIN_PASSWORD"
    iniset "$conf" mogan_valence project_name demo
    iniset "$conf" mogan_valence alt_username alt_demo
    iniset "$conf" mogan_valence alt_password "$ADMIN_PASSWORD"
    iniset "$conf" mogan_valence alt_project_name alt_demo
    iniset "$conf" mogan_valence admin_username admin
    iniset "$conf" mogan_valence admin_password "$ADMIN_PASSWORD"
    iniset "$conf" mogan_valence admin_project_name admin
    iniset "$conf" mogan_valence composed_flavor "$MOGAN_VALENCE_FLAVOR"
    iniset "$conf" mogan_valence composed_resource_class "$MOGAN_VALENCE_RESOURCE_CLASS"
    iniset "$conf" mogan_valence image_source "$image"
    iniset "$conf" mogan_valence build_timeout "$MOGAN_VALENCE_TEMPEST_BUILD_TIMEOUT"
    if [[ "$MOGAN_VALENCE_USE_SIMULATOR" == "True" ]]; then
        iniset "$conf" mogan_valence valence_url "$MOGAN_VALENCE_URL"
    fi
}

function stop_mogan_valence {
    stop_process mogan-valence-api
    stop_process mogan-valence-engine
    if mogan_valence_several_engines; then
        local i
        for ((i = 1; i <= MOGAN_VALENCE_ENGINES; i++)); do
            stop_process "mogan-valence-engine-$i"
        done
    fi
    stop_process mogan-valence-simulator
}

function cleanup_mogan_valence {
    remove_uwsgi_config "$MOGAN_VALENCE_UWSGI_CONF" mogan-valence-api
    sudo rm -rf "$MOGAN_VALENCE_CONF_DIR" "$MOGAN_VALENCE_STATE_PATH"
}

if is_service_enabled mogan-valence-api mogan-valence-engine; then
    if [[ "$1" == "stack" && "$2" == "install" ]]; then
        echo_summary "Installing mogan-valence"
        install_mogan_valence
    elif [[ "$1" == "stack" && "$2" == "post-config" ]]; then
        echo_summary "Configuring mogan-valence"
        configure_mogan_valence
    elif [[ "$1" == "stack" && "$2" == "extra" ]]; then
        echo_summary "Starting mogan-valence"
        init_mogan_valence
        start_mogan_valence
        if is_service_enabled mogan-valence-api; then
            create_mogan_valence_flavor
        fi
    elif [[ "$1" == "stack" && "$2" == "test-config" ]]; then
        if is_service_enabled tempest && is_service_enabled mogan-valence-api; then
            echo_summary "Configuring tempest for mogan-valence"
            configure_mogan_valence_tempest
        fi
    fi

    if [[ "$1" == "unstack" ]]; then
        stop_mogan_valence
    fi

    if [[ "$1" == "clean" ]]; then
        cleanup_mogan_valence
    fi
fi

# Restore xtrace
$_XTRACE_MOGAN_VALENCE
