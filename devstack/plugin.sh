#!/bin/bash
# devstack plugin for mogan-valence: the engine that composes bare-metal
# servers through Valence. Enable with:
#
#   enable_plugin mogan-valence <repository> [branch]
#
# Settings are in devstack/settings.

# Save trace setting
_XTRACE_MOGAN_VALENCE=$(set +o | grep xtrace)
set +o xtrace

function install_mogan_valence {
    setup_develop "$MOGAN_VALENCE_DIR"
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

    # Ironic through Keystone, as the mogan-valence service user.
    create_service_user mogan-valence admin
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
    run_process mogan-valence-engine "$MOGAN_VALENCE_BIN_DIR/mogan-valence-engine \
--config-file $MOGAN_VALENCE_CONF_FILE"
}

function wait_for_mogan_valence_engine {
    # The engine declares its queue when it starts; until then a request
    # would go nowhere.
    local deadline=$((SECONDS + SERVICE_TIMEOUT))
    until "$MOGAN_VALENCE_BIN_DIR/mogan-valence" --config-file "$MOGAN_VALENCE_CONF_FILE" \
            --rpc-timeout 5 flavor list >/dev/null 2>&1; do
        if [[ $SECONDS -ge $deadline ]]; then
            die $LINENO "mogan-valence-engine did not answer within $SERVICE_TIMEOUT s"
        fi
        sleep 1
    done
}

function create_mogan_valence_flavor {
    # shellcheck disable=SC2086  # the composition is KEY=VALUE words
    "$MOGAN_VALENCE_BIN_DIR/mogan-valence" --config-file "$MOGAN_VALENCE_CONF_FILE" \
        flavor create "$MOGAN_VALENCE_FLAVOR" --composition $MOGAN_VALENCE_FLAVOR_COMPOSITION
}

function stop_mogan_valence {
    stop_process mogan-valence-engine
    stop_process mogan-valence-simulator
}

function cleanup_mogan_valence {
    sudo rm -rf "$MOGAN_VALENCE_CONF_DIR" "$MOGAN_VALENCE_STATE_PATH"
}

if is_service_enabled mogan-valence-engine; then
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
        wait_for_mogan_valence_engine
        create_mogan_valence_flavor
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
